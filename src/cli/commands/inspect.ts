/** `trainyard runs`, `show`, `logs` and `why`: reading what the metadata store recorded. */
import { guardSkips, type RunDetail } from "../../engine/run-detail.js";
import { isTrainyardError } from "../../core/errors.js";
import { openTickStore } from "../../daemon/open-tick-store.js";
import type { RunRecord, RunStatus } from "../../store/metadata-store.js";
import type { TickStore } from "../../store/tick-store.js";
import { has, intFlag, one, usage, type ParsedArgs } from "../args.js";
import { outputClosed } from "../closed-output.js";
import { bold, cyan, dim, duration, red, statusIcon, table, when, yellow } from "../format.js";
import { openHome } from "../open-home.js";
import type { LogRun } from "../../engine/step-log-reader.js";
import { followPause, stepEnded } from "../../engine/run-views.js";
import type { Trainyard } from "../../engine/trainyard.js";

export async function runsCommand(args: ParsedArgs): Promise<number> {
  const ty = await openHome(args);
  try {
    const { runs, nextCursor } = await ty.query.listRuns({
      pipeline: one(args, "pipeline"),
      status: one(args, "status") as RunStatus | undefined,
      trigger: one(args, "trigger"),
      limit: intFlag(args, "limit") ?? 20,
      cursor: one(args, "cursor"),
    });
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      if (nextCursor) process.stderr.write(`next page: --cursor ${nextCursor}\n`);
      return 0;
    }
    if (!runs.length) {
      process.stdout.write(`no runs in ${ty.home}\n`);
      return 0;
    }
    const rows = [[dim("run"), dim("pipeline"), dim("status"), dim("trigger"), dim("started"), dim("took")]];
    for (const r of runs) {
      const took = r.finishedAt ? duration(r.finishedAt - (r.startedAt ?? r.createdAt)) : "";
      rows.push([r.id, r.pipeline, `${statusIcon(r.status)} ${r.status}`, r.trigger, when(r.createdAt), took]);
    }
    process.stdout.write(`${table(rows)}\n`);
    if (nextCursor) process.stdout.write(dim(`more: trainyard runs --cursor ${nextCursor}\n`));
    return 0;
  } finally {
    await ty.close();
  }
}

export async function showCommand(args: ParsedArgs): Promise<number> {
  const [runId] = args.positionals;
  if (!runId) throw usage("trainyard show needs a run id (see `trainyard runs`)");
  const ty = await openHome(args);
  try {
    const detail = await ty.query.runDetail(runId);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${formatRunDetail(detail).join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}

function formatRunDetail({ run, origin, owner, stepDetails, gates, guardNote }: RunDetail): string[] {
  const out: string[] = [];
  const took = run.finishedAt ? `, took ${duration(run.finishedAt - (run.startedAt ?? run.createdAt))}` : "";
  out.push(`${bold(`run ${run.id}`)}  ${statusIcon(run.status)} ${run.status}`);
  out.push(`  pipeline  ${run.pipeline}  (${run.modulePath})`);
  out.push(`  trigger   ${run.trigger}${run.profile ? `, profile ${run.profile}` : ""}`);
  if (origin) {
    const late = origin.recordedAt - origin.tickAt;
    const recorded = late >= 1000 ? `, recorded ${duration(late)} later` : "";
    out.push(`  tick      ${origin.kind} "${origin.name}" at ${new Date(origin.tickAt).toISOString()}${recorded}`);
    out.push(`  reason    ${origin.reason}`);
    origin.eventLines.forEach((line, i) => out.push(`  ${i === 0 ? "event " : "      "}    ${line}`));
  }
  out.push(`  started   ${when(run.createdAt)}${took}`);
  out.push(`  code      ${run.codeVersion.slice(0, 12)}`);
  if (owner) out.push(`  owner     ${owner.process}, last heartbeat ${when(owner.heartbeatAt)}`);
  out.push(`  params    ${JSON.stringify(run.params)}`);
  const rows: string[][] = [];
  for (const s of stepDetails) {
    const items = s.itemRecords;
    const itemNote = items.length ? dim(` ${items.length} items, ${items.filter((i) => i.cached).length} cached`) : "";
    const quiet = s.status === "skipped" || s.status === "cancelled";
    const note = s.error ? red(s.error.message.split("\n")[0]) : quiet ? dim(s.reason ?? "") : "";
    const status = s.cached ? cyan("cached") : s.status;
    const attempts = s.attempts > 1 ? yellow(`${s.attempts} attempts`) : "";
    const icon = `  ${statusIcon(s.status, s.cached)}`;
    rows.push([icon, s.stepId + itemNote, status, duration(s.durationMs), attempts, note]);
  }
  out.push("", table(rows));
  if (guardNote) out.push("", yellow(guardNote));
  // Gate verdicts of rejected (or passed) gate steps: which gate, and by how much.
  for (const g of gates) {
    out.push("", bold(`gates (${g.step})`));
    const mark = (status: string) =>
      status === "fail" ? red("✘ fail") : status === "pass" ? "✔ pass" : dim("– no baseline");
    out.push(table(g.verdicts.map((v) => [`  ${mark(v.status)}`, v.gate, v.message])));
  }
  if (run.error) {
    out.push("", red(`error[${run.error.code}]: ${run.error.message}`));
    if (typeof run.error.fields?.at === "string") out.push(`  at ${run.error.fields.at}`);
    const stack = run.error.cause?.stack ?? run.error.stack;
    if (process.env.TRAINYARD_DEBUG && stack) out.push(dim(stack));
    if (run.error.hint) out.push(`  hint: ${run.error.hint}`);
  }
  return out;
}

/** Kept for callers of the CLI module; the logic lives in the engine's run detail. */
export { guardSkips };

export async function logsCommand(args: ParsedArgs): Promise<number> {
  const [runId, stepId] = args.positionals;
  if (!runId || !stepId) throw usage("trainyard logs needs a run id and a step id");
  const ty = await openHome(args);
  try {
    const item = one(args, "item");
    const attempt = one(args, "attempt");
    const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    if (has(args, "follow")) {
      const target = { runId, stepId, item: number(item), attempt: number(attempt) };
      return await followLog(ty, target, new LogOutput(has(args, "json"), true));
    }
    const out = new LogOutput(has(args, "json"));
    for await (const chunk of ty.query.stepLog(runId, stepId, { item: number(item), attempt: number(attempt) })) {
      await out.write(chunk, chunk.label);
      // A reader that stopped early (`| head`) has seen all it wanted.
      if (outputClosed()) return 0;
    }
    await out.end();
    const what = `${runId} ${stepId}${item !== undefined ? `[${item}]` : ""}`;
    if (!out.count)
      process.stderr.write(
        dim(`(no log lines for ${what})
`),
      );
    return 0;
  } finally {
    await ty.close();
  }
}

export async function whyCommand(args: ParsedArgs): Promise<number> {
  const [runId, stepId] = args.positionals;
  if (!runId || !stepId) throw usage("trainyard why needs a run id and a step id");
  const ty = await openHome(args);
  try {
    const why = await ty.why(runId, stepId);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(why, null, 2)}\n`);
      return 0;
    }
    const decision = why.decision === "cache hit" ? cyan(why.decision) : yellow(why.decision);
    process.stdout.write(`${bold(`${why.step}`)} in run ${why.runId}: ${decision}\n`);
    for (const r of why.reasons) process.stdout.write(`  ${r}\n`);
    if (why.against) process.stdout.write(dim(`  compared with ${why.against.stepRunId}\n`));
    for (const it of why.items?.filter((i) => i.decision !== "cache hit").slice(0, 20) ?? []) {
      process.stdout.write(`  item ${it.index}: ${it.decision}\n`);
      for (const r of it.reasons) process.stdout.write(`    ${r}\n`);
    }
    return 0;
  } finally {
    await ty.close();
  }
}

interface FollowTarget {
  runId: string;
  stepId: string;
  item?: number;
  attempt?: number;
}

/** How often a followed log is read again (at least: see followPause). */
const FOLLOW_MS = 500;

/**
 * `trainyard logs --follow`: the log so far, then its lines as they are written (on this machine,
 * or on a worker, through its live copy), until the step ends; exit 0 if it succeeded (or was
 * skipped), else 1. Lines are read by offset in the step's log, so none is printed twice. A run
 * still in the daemon's queue is waited for.
 */
async function followLog(ty: Trainyard, t: FollowTarget, out: LogOutput): Promise<number> {
  const q = ty.query;
  const run0 = await startedRun(ty, t.runId);
  if (!run0) {
    process.stderr.write(dim(`(run ${t.runId} was cancelled before it started)\n`));
    return 1;
  }
  let offset = 0;
  for (;;) {
    const run = (await q.run(run0.id)) ?? run0;
    // A run records its steps as it reaches them: wait for one of its pipeline's while the run goes on.
    const sr = await q.stepRun(run.id, t.stepId, t.item).catch((err) => {
      const planned = !run.steps || run.steps.includes(t.stepId);
      if (planned && (run.status === "running" || run.status === "queued")) return undefined;
      throw err;
    });
    if (sr && t.item === undefined && !sr.attempts && (await isMapStep(ty, run.id, t.stepId)))
      throw usage(`${t.stepId} is a map step: follow one of its items with --item I`);
    // The state before the lines: a step seen ended has written every line read after.
    const ended = sr && stepEnded(sr, run);
    const started = performance.now();
    if (sr) {
      for await (const chunk of q.stepLogFrom(run.id, t.stepId, { item: t.item, attempt: t.attempt, offset })) {
        await out.write(chunk, chunk.label);
        if (outputClosed()) return 0;
        offset = chunk.offset + chunk.lines.length;
      }
      await out.end();
    }
    if (ended) {
      const ok = sr.status === "succeeded" || sr.status === "skipped";
      process.stderr.write(dim(`(${t.stepId}${t.item !== undefined ? `[${t.item}]` : ""} ${sr.status})\n`));
      return ok ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, followPause(FOLLOW_MS, performance.now() - started)));
  }
}

/**
 * The run once its record exists: a run waiting in the daemon's queue has none until its process
 * starts. Undefined when it is cancelled before that; NOT_FOUND when it is neither.
 */
async function startedRun(ty: Trainyard, runId: string): Promise<RunRecord | undefined> {
  let ticks: TickStore | undefined;
  try {
    for (;;) {
      try {
        return await ty.query.requireRun(runId);
      } catch (err) {
        if (!isTrainyardError(err) || err.code !== "NOT_FOUND") throw err;
        ticks ??= await openTickStore(ty);
        const queued = await ticks.getQueuedRun(runId);
        if (!queued) throw err;
        if (queued.status === "cancelled") return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    }
  } finally {
    await ticks?.close();
  }
}

async function isMapStep(ty: Trainyard, runId: string, stepId: string): Promise<boolean> {
  return (await ty.query.stepRun(runId, stepId, 0).catch(() => undefined)) !== undefined;
}

/**
 * Writes log lines to stdout in blocks, waiting for the terminal or pipe to take each block: as
 * one JSON array, or (`follow`) as a JSON object per line.
 */
class LogOutput {
  count = 0;
  private block = "";

  constructor(
    private readonly json: boolean,
    private readonly follow = false,
  ) {}

  async write(run: LogRun, label: string): Promise<void> {
    if (this.json) {
      const { attempt, ts, stream } = run;
      for (const line of run.lines) {
        const record = JSON.stringify({ attempt, ts, stream, line: label + line });
        this.block += this.follow ? `${record}\n` : `${this.count ? "," : "["}${record}`;
        this.count++;
      }
    } else {
      const kind = run.stream === "stderr" ? "err" : run.stream === "stdout" ? "out" : "log";
      const tag = `${dim(`#${run.attempt} ${kind}`)} ${label}`;
      this.block += `${tag}${run.lines.join(`\n${tag}`)}\n`;
      this.count += run.lines.length;
    }
    if (this.block.length >= 64 * 1024) await this.flush();
  }

  async end(): Promise<void> {
    if (this.json && !this.follow) this.block += this.count ? "]\n" : "[]\n";
    await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.block;
    this.block = "";
    if (!text || process.stdout.write(text)) return;
    await new Promise((resolve) => process.stdout.once("drain", resolve));
  }
}
