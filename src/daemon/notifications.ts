/**
 * Tells people what an unattended loop did: a run failed or was rejected, a model was promoted,
 * a daemon stopped heartbeating. A target is a webhook (JSON with a Slack-compatible `text`,
 * retried with backoff) or a command (program + argv, the event in TRAINYARD_EVENT; never a
 * shell string). Targets come from `<home>/notifications.json` or the daemon's options.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TrainyardError } from "../core/errors.js";

export type NotificationType = "run.failed" | "run.rejected" | "model.promoted" | "daemon.stale";
export const NOTIFICATION_TYPES: readonly NotificationType[] = [
  "run.failed",
  "run.rejected",
  "model.promoted",
  "daemon.stale",
];

export interface NotificationEvent {
  type: NotificationType;
  /** One line for people (Slack shows it). */
  text: string;
  at: number;
  runId?: string;
  pipeline?: string;
  trigger?: string;
  model?: string;
  alias?: string;
  version?: number;
  error?: { code: string; message: string };
}

interface TargetBase {
  /** Only these events. @default every type */
  on?: NotificationType[];
  /** Per attempt. @default 10000 */
  timeoutMs?: number;
}

export interface WebhookTarget extends TargetBase {
  url: string;
  headers?: Record<string, string>;
  /** Attempts before giving up, waiting 0.5 s, 1 s, 2 s... between them. @default 4 */
  attempts?: number;
}

export interface CommandTarget extends TargetBase {
  /**
   * A program (no shell): `{type}`, `{text}`, `{runId}`, `{model}` in `args` are replaced, each staying one argument.
   */
  command: string;
  args?: string[];
}

export type NotificationTarget = WebhookTarget | CommandTarget;

/** `<home>/notifications.json` as `{ "targets": [...] }`; none when absent. */
export function loadNotificationTargets(home: string): NotificationTarget[] {
  const file = join(home, "notifications.json");
  if (!existsSync(file)) return [];
  let parsed: { targets?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as { targets?: unknown };
  } catch (err) {
    throw new TrainyardError("CONFIG_INVALID", `${file} is not valid JSON`, {
      file,
      cause: err,
      hint: 'write { "targets": [{ "url": "https://hooks.slack.com/..." }] }',
    });
  }
  const targets = parsed.targets;
  const valid = (t: unknown) =>
    typeof t === "object" &&
    t !== null &&
    (typeof (t as WebhookTarget).url === "string" || typeof (t as CommandTarget).command === "string");
  if (!Array.isArray(targets) || !targets.every(valid)) {
    throw new TrainyardError(
      "CONFIG_INVALID",
      `${file}: "targets" must be a list of { url } or { command, args } objects`,
      {
        file,
        hint:
          `e.g. { "targets": [{ "url": "http://127.0.0.1:9000/hook", "on": ` +
          `["run.failed"] }, { "command": "/usr/bin/logger", "args": ["{text}"] }] }`,
      },
    );
  }
  for (const t of targets as NotificationTarget[]) {
    const unknown = t.on?.find((type) => !NOTIFICATION_TYPES.includes(type));
    if (unknown)
      throw new TrainyardError("CONFIG_INVALID", `${file}: unknown event type "${unknown}"`, {
        file,
        hint: `known: ${NOTIFICATION_TYPES.join(", ")}`,
      });
  }
  return targets as NotificationTarget[];
}

export interface DeliveryResult {
  target: string;
  ok: boolean;
  attempts: number;
  detail: string;
}

export class Notifier {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly targets: readonly NotificationTarget[],
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Delivers in the background; `flush()` waits for every delivery started so far. */
  notify(event: NotificationEvent): void {
    for (const t of this.targets) {
      if (t.on && !t.on.includes(event.type)) continue;
      const p = deliver(t, event).then((r) => {
        if (!r.ok)
          this.log(`notification ${event.type} to ${r.target} failed after ${r.attempts} attempt(s): ${r.detail}`);
      });
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}

export async function deliver(target: NotificationTarget, event: NotificationEvent): Promise<DeliveryResult> {
  if ("url" in target) return postWithRetries(target, event);
  const name = [target.command, ...(target.args ?? [])].join(" ");
  try {
    return { target: name, ok: true, attempts: 1, detail: await runNotifyCommand(target, event) };
  } catch (err) {
    return { target: name, ok: false, attempts: 1, detail: (err as Error).message };
  }
}

async function postWithRetries(target: WebhookTarget, event: NotificationEvent): Promise<DeliveryResult> {
  const attempts = Math.max(1, target.attempts ?? 4);
  let detail = "";
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await fetch(target.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...target.headers },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(target.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      detail = `HTTP ${res.status}`;
      if (res.ok) return { target: target.url, ok: true, attempts: i, detail };
      // A client error other than rate limiting will not change on retry.
      if (res.status < 500 && res.status !== 429) return { target: target.url, ok: false, attempts: i, detail };
    } catch (err) {
      detail = (err as Error).message;
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, 500 * 2 ** (i - 1)));
  }
  return { target: target.url, ok: false, attempts, detail };
}

function runNotifyCommand(target: CommandTarget, event: NotificationEvent): Promise<string> {
  const fill = (arg: string) =>
    arg.replace(/\{(type|text|runId|model|alias|pipeline)\}/g, (_, k: keyof NotificationEvent) =>
      String(event[k] ?? ""),
    );
  const env = {
    ...process.env,
    TRAINYARD_EVENT: JSON.stringify(event),
    TRAINYARD_EVENT_TYPE: event.type,
    TRAINYARD_EVENT_TEXT: event.text,
    TRAINYARD_RUN_ID: event.runId ?? "",
    TRAINYARD_MODEL: event.model ?? "",
  };
  return new Promise((resolve, reject) => {
    const child = spawn(target.command, (target.args ?? []).map(fill), {
      env,
      stdio: ["ignore", "ignore", "pipe"],
      shell: false,
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), target.timeoutMs ?? 10_000);
    child.once("error", (err) => (clearTimeout(timer), reject(err)));
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve("exit 0");
      else reject(new Error(`exit ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ""}`));
    });
  });
}
