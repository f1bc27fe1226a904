/** `trainyard run`, `plan` and `resume`. */
import type { RunEvent } from "../../engine/events.js";
import type { RunResult } from "../../engine/trainyard.js";
import { forceFlag, has, intFlag, keyValues, one, usage, type ParsedArgs } from "../args.js";
import { bold, cyan, dim, duration, green, red, statusIcon, yellow } from "../format.js";
import { openHome } from "../open-home.js";
import { guardSkips } from "../../engine/run-detail.js";
import { Progress } from "../progress.js";
import { printTypeErrors, wantsTypeCheck } from "../type-check-first.js";

export async function runCommand(args: ParsedArgs): Promise<number> {
  const [modulePath, ...extra] = args.positionals;
  if (!modulePath)
    throw usage(
      "trainyard run needs the path of a pipeline module, e.g. trainyard run examples/flight-delays/pipeline.ts",
    );
  if (extra.length) throw usage(`unexpected argument "${extra[0]}"`);
  const force = forceFlag(args);
  const typeCheck = wantsTypeCheck(args);
  const ty = await openHome(args, { module: modulePath });
  const json = has(args, "json");
  const progress = Progress.forTerminal(json || has(args, "quiet"));
  const signals = cancelOnSignals(progress);
  try {
    const result = await ty
      .run(modulePath, {
        overrides: keyValues(args, "param"),
        profile: one(args, "profile"),
        concurrency: intFlag(args, "concurrency"),
        force,
        ...signals,
        // Set by the daemon: the id its queue fixed up front, and what started the run ("schedule:nightly").
        runId: one(args, "run-id"),
        trigger: one(args, "trigger"),
        typeCheck,
      })
      .catch((err: unknown) => {
        printTypeErrors(err);
        throw err;
      });
    progress.stop();
    report(result, json);
    return exitCode(result);
  } finally {
    progress.stop();
    // No close: the process exits right after, and closing would checkpoint the SQLite WAL on
    // the critical path of every run. Committed records are already durable in the WAL.
    ty.leaveOpen();
  }
}

export async function resumeCommand(args: ParsedArgs): Promise<number> {
  const [runId] = args.positionals;
  if (!runId) throw usage("trainyard resume needs a run id (see `trainyard runs`)");
  const ty = await openHome(args);
  const json = has(args, "json");
  const progress = Progress.forTerminal(json || has(args, "quiet"));
  const signals = cancelOnSignals(progress);
  try {
    const result = await ty.resume(runId, { concurrency: intFlag(args, "concurrency"), ...signals });
    progress.stop();
    report(result, json);
    return exitCode(result);
  } finally {
    progress.stop();
    // No close: the process exits right after, and closing would checkpoint the SQLite WAL on
    // the critical path of every run. Committed records are already durable in the WAL.
    ty.leaveOpen();
  }
}

export async function planCommand(args: ParsedArgs): Promise<number> {
  const [modulePath] = args.positionals;
  if (!modulePath) throw usage("trainyard plan needs the path of a pipeline module");
  const typeCheck = wantsTypeCheck(args);
  const ty = await openHome(args, { module: modulePath });
  try {
    const plan = await ty
      .plan(modulePath, {
        overrides: keyValues(args, "param"),
        profile: one(args, "profile"),
        force: forceFlag(args),
        typeCheck,
      })
      .catch((err: unknown) => {
        printTypeErrors(err);
        throw err;
      });
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
      return 0;
    }
    const count = (action: string) => plan.steps.filter((s) => s.action === action).length;
    const depends = count("depends");
    const later = depends ? `, ${depends} decided when the steps they depend on have run` : "";
    process.stdout.write(`${bold(plan.pipeline)}: ${count("run")} to run, ${count("reuse")} to reuse${later}\n`);
    for (const s of plan.steps) {
      const label = { reuse: cyan("reuse"), run: yellow("run  "), depends: dim("later") }[s.action];
      const head = `${label} ${s.step}`;
      const items = s.items ? dim(` (${s.items.reused}/${s.items.total} items cached)`) : "";
      process.stdout.write(`${head}${items}\n`);
      for (const r of s.reasons) process.stdout.write(`        ${dim(r)}\n`);
    }
    return 0;
  } finally {
    await ty.close();
  }
}

function exitCode(result: RunResult): number {
  return result.status === "succeeded" ? 0 : result.status === "cancelled" ? 130 : result.status === "rejected" ? 3 : 1;
}

function report(result: RunResult, json: boolean): void {
  if (json) {
    const summary = {
      runId: result.runId,
      pipeline: result.pipeline,
      status: result.status,
      durationMs: result.durationMs,
      steps: result.steps.map((s) => ({
        step: s.step,
        status: s.status,
        cached: s.cached,
        attempts: s.attempts,
        durationMs: s.durationMs ?? null,
        ...(s.items !== undefined ? { items: s.items } : {}),
        ...(s.error ? { error: s.error.message } : {}),
        ...(s.reason ? { reason: s.reason } : {}),
      })),
      ...(result.error
        ? { error: { code: result.error.code, message: result.error.message, hint: result.error.hint } }
        : {}),
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const cached = result.steps.filter((s) => s.cached).length;
  const ran = result.steps.filter((s) => s.status === "succeeded" && !s.cached).length;
  const color = result.status === "succeeded" ? green : red;
  const outcome = `${color(result.status)} in ${duration(result.durationMs)}`;
  process.stdout.write(
    `${statusIcon(result.status)} run ${result.runId} ${outcome}: ${ran} ran, ${cached} reused from cache`,
  );
  const skipped = result.steps.filter((s) => s.status === "skipped").length;
  process.stdout.write(skipped ? `, ${skipped} skipped\n` : "\n");
  if (cached === result.steps.length && result.steps.length)
    process.stdout.write(
      dim(`every step was reused from the cache; \`trainyard why ${result.runId} <step>\` explains each decision\n`),
    );
  for (const s of result.steps.filter((x) => x.status === "failed" || x.status === "rejected")) {
    const label = s.status === "rejected" ? yellow("rejected") : red("failed");
    process.stdout.write(`\n${label} ${bold(s.step)}: ${s.error?.message ?? ""}\n`);
    if (typeof s.error?.fields?.at === "string") process.stdout.write(`  at ${s.error.fields.at}\n`);
    const stack = s.error?.cause?.stack ?? s.error?.stack;
    if (process.env.TRAINYARD_DEBUG && stack) process.stdout.write(`${dim(stack)}\n`);
    if (s.error?.hint) process.stdout.write(`  hint: ${s.error.hint}\n`);
  }
  const held = guardSkips(result.steps);
  if (held) process.stdout.write(`\n${yellow(held)}\n`);
  if (result.status === "rejected")
    process.stdout.write(
      dim(
        `\nthe candidate was not registered or deployed; \`trainyard show ${result.runId}\` lists every gate verdict\n`,
      ),
    );
}

/**
 * SIGINT and SIGTERM cancel the run once it has started: the run ends `cancelled` (exit 130);
 * the same signal again exits at once. Until the run starts (the module loading, whose code may
 * be stuck where no handler of ours could run) they keep their default effect and end the
 * process; no run has been recorded as running by then.
 */
function cancelOnSignals(progress: Progress): { signal: AbortSignal; onEvent: (event: RunEvent) => void } {
  const controller = new AbortController();
  const received = new Set<NodeJS.Signals>();
  const onSignal = (name: NodeJS.Signals) => {
    if (received.has(name)) process.exit(name === "SIGINT" ? 130 : 143);
    received.add(name);
    if (controller.signal.aborted) return;
    progress.stop();
    const again = name === "SIGINT" ? "Ctrl-C" : "SIGTERM";
    process.stderr.write(yellow(`\ncancelling the run (${again} again to exit at once)...\n`));
    controller.abort();
  };
  let armed = false;
  return {
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type === "run-started" && !armed) {
        armed = true;
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      }
      progress.onEvent(event);
    },
  };
}
