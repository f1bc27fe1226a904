/**
 * Deploy hooks: after an alias moves, tell the outside world (a webhook receiving a JSON event,
 * or a command receiving it in environment variables). Each outcome is recorded in the registry.
 * A failed hook does not undo the move; it only fails the promotion when marked `required`.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TrainyardError, type AliasEvent, type DeployHookResult, type RegistryStore } from "../../index.js";

interface HookBase {
  /** Give up after this long. @default 10000 */
  timeoutMs?: number;
  /** Fail the promotion (after recording) when this hook fails. @default false */
  required?: boolean;
  /** Only for these aliases. @default every alias */
  aliases?: string[];
}

export interface WebhookHook extends HookBase {
  /** POSTs the event as JSON here; any 2xx counts as delivered. */
  url: string;
  headers?: Record<string, string>;
}

export interface CommandHook extends HookBase {
  /**
   * Run through the shell unless `args` is given; the event is in TRAINYARD_EVENT (JSON) and
   * TRAINYARD_* variables, never in the command text: names and reasons cannot become shell code.
   */
  command: string;
  args?: string[];
}

export type DeployHook = WebhookHook | CommandHook;

/** What a hook receives when an alias moves. */
export interface DeployEvent {
  type: "alias.moved";
  eventId: number;
  model: string;
  alias: string;
  action: AliasEvent["action"];
  fromVersion?: number;
  toVersion?: number;
  artifactDigest?: string;
  actor: string;
  reason?: string;
  forced: boolean;
  at: number;
}

export function deployEvent(e: AliasEvent, artifactDigest?: string): DeployEvent {
  const { id, ...rest } = e;
  return { type: "alias.moved", eventId: id, ...rest, artifactDigest };
}

/** Hooks configured for a home in `<home>/deploy-hooks.json` as `{ "hooks": [...] }`; none if absent. */
export function loadDeployHooks(home: string): DeployHook[] {
  const file = join(home, "deploy-hooks.json");
  if (!existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new TrainyardError("CONFIG_INVALID", `${file} is not valid JSON`, {
      file,
      cause: err,
      hint: 'write { "hooks": [{ "url": "http://..." }] }',
    });
  }
  const hooks = (parsed as { hooks?: unknown }).hooks;
  if (
    !Array.isArray(hooks) ||
    hooks.some(
      (h) => typeof h !== "object" || h === null || (typeof h.url !== "string" && typeof h.command !== "string"),
    )
  ) {
    throw new TrainyardError("CONFIG_INVALID", `${file}: "hooks" must be a list of { url } or { command } objects`, {
      file,
      hint: 'e.g. { "hooks": [{ "url": "http://127.0.0.1:9000/deploy" }, { "command": "./notify.sh" }] }',
    });
  }
  return hooks as DeployHook[];
}

export function describeHook(h: DeployHook): string {
  return "url" in h ? h.url : [h.command, ...(h.args ?? [])].join(" ");
}

/** Runs every hook that applies to the event, records each outcome, throws if a required one failed. */
export async function runDeployHooks(
  reg: RegistryStore,
  event: DeployEvent,
  hooks: readonly DeployHook[],
): Promise<DeployHookResult[]> {
  const results: DeployHookResult[] = [];
  const failedRequired: string[] = [];
  for (const hook of hooks) {
    if (hook.aliases && !hook.aliases.includes(event.alias)) continue;
    let ok = true;
    let detail: string | undefined;
    try {
      detail = "url" in hook ? await postWebhook(hook, event) : await runCommand(hook, event);
    } catch (err) {
      ok = false;
      detail = (err as Error).message;
    }
    const result = { eventId: event.eventId, hook: describeHook(hook), ok, detail, at: Date.now() };
    await reg.recordDeployHook(result);
    results.push(result);
    if (!ok && hook.required) failedRequired.push(`${result.hook}: ${detail}`);
  }
  if (failedRequired.length) {
    throw new TrainyardError(
      "DEPLOY_HOOK_FAILED",
      `${event.model}@${event.alias} moved to version ${event.toVersion ?? "none"}, but required deploy ` +
        `hook(s) failed: ${failedRequired.join("; ")}`,
      {
        model: event.model,
        alias: event.alias,
        hint:
          `fix the hook and promote again, ` +
          `or undo with \`trainyard models rollback ${event.model} --alias ${event.alias}\``,
      },
    );
  }
  return results;
}

async function postWebhook(hook: WebhookHook, event: DeployEvent): Promise<string> {
  const res = await fetch(hook.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...hook.headers },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(hook.timeoutMs ?? 10_000),
  });
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return `HTTP ${res.status}`;
}

function runCommand(hook: CommandHook, event: DeployEvent): Promise<string> {
  const env = {
    ...process.env,
    TRAINYARD_EVENT: JSON.stringify(event),
    TRAINYARD_MODEL: event.model,
    TRAINYARD_ALIAS: event.alias,
    TRAINYARD_VERSION: String(event.toVersion ?? ""),
    TRAINYARD_FROM_VERSION: String(event.fromVersion ?? ""),
    TRAINYARD_ACTION: event.action,
    TRAINYARD_ACTOR: event.actor,
    TRAINYARD_REASON: event.reason ?? "",
    TRAINYARD_FORCED: event.forced ? "1" : "0",
    TRAINYARD_ARTIFACT: event.artifactDigest ?? "",
  };
  return new Promise((resolve, reject) => {
    // In its own process group, which a timeout kills whole (a shell's children too).
    const child = spawn(hook.command, hook.args ?? [], {
      env,
      shell: hook.args === undefined,
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, hook.timeoutMs ?? 10_000);
    child.on("exit", () => clearTimeout(timer));
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-500)));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve("exit 0");
      else
        reject(
          new Error(`${signal ? `killed by ${signal}` : `exit ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ""}`),
        );
    });
  });
}
