/** `trainyard runs`, `show`, `logs` and `why`: reading what the metadata store recorded. */
import { TrainyardError } from "../../core/errors.js";
import { describeIdentity } from "../../store/process-identity.js";
import { has, intFlag, one, parseArgs, usage } from "../args.js";
import { bold, cyan, dim, duration, red, statusIcon, table, when, yellow } from "../format.js";
import { openHome } from "../open-home.js";
import { readStepLog, type LogRun } from "../../engine/step-log-reader.js";

export async function runsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["pipeline", "limit", "home", "status"], booleans: ["json"] });
  const ty = await openHome(args);
  try {
    const limit = intFlag(args, "limit") ?? 20;
    const filter = { pipeline: one(args, "pipeline"), status: one(args, "status") as never, limit };
    // The engine's query, not the store's: it records runs whose owner died as interrupted.
    const runs = await ty.listRuns(filter);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      return 0;
    }
    if (!runs.length) {
      process.stdout.write(`no runs in ${ty.home}\n`);
      return 0;
    }
    const rows = [[dim("run"), dim("pipeline"), dim("status"), dim("trigger"), dim("started"), dim("took")]];
    for (const r of runs) {
      rows.push([r.id, r.pipeline, `${statusIcon(r.status)} ${r.status}`, r.trigger, when(r.createdAt), r.finishedAt ? duration(r.finishedAt - (r.startedAt ?? r.createdAt)) : ""]);
    }
    process.stdout.write(`${table(rows)}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}

export async function showCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home"], booleans: ["json"] });
  const [runId] = args.positionals;
  if (!runId) throw usage("trainyard show needs a run id (see `trainyard runs`)");
  const ty = await openHome(args);
  try {
    const run = await ty.getRun(runId);
    if (!run) throw new TrainyardError("NOT_FOUND", `no run "${runId}" in ${ty.home}`, { runId, hint: "list runs with `trainyard runs`" });
    const steps = await ty.metadata.listStepRuns(run.id);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify({ run, steps }, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [];
    out.push(`${bold(`run ${run.id}`)}  ${statusIcon(run.status)} ${run.status}`);
    out.push(`  pipeline  ${run.pipeline}  (${run.modulePath})`);
    out.push(`  trigger   ${run.trigger}${run.profile ? `, profile ${run.profile}` : ""}`);
    out.push(`  started   ${when(run.createdAt)}${run.finishedAt ? `, took ${duration(run.finishedAt - (run.startedAt ?? run.createdAt))}` : ""}`);
    out.push(`  code      ${run.codeVersion.slice(0, 12)}`);
    const lease = run.status === "running" ? await ty.metadata.getRunLease(run.id) : undefined;
    if (lease) out.push(`  owner     ${describeIdentity(lease.owner)}, last heartbeat ${when(lease.heartbeatAt)}`);
    out.push(`  params    ${JSON.stringify(run.params)}`);
    const rows: string[][] = [];
    for (const s of steps.filter((s) => s.itemIndex < 0)) {
      const items = steps.filter((i) => i.stepId === s.stepId && i.itemIndex >= 0);
      const itemNote = items.length ? dim(` ${items.length} items, ${items.filter((i) => i.cached).length} cached`) : "";
      const note = s.error ? red(s.error.message.split("\n")[0]) : s.status === "skipped" || s.status === "cancelled" ? dim(s.reason ?? "") : "";
      rows.push([`  ${statusIcon(s.status, s.cached)}`, s.stepId + itemNote, s.cached ? cyan("cached") : s.status, duration(s.durationMs), s.attempts > 1 ? yellow(`${s.attempts} attempts`) : "", note]);
    }
    out.push("", table(rows));
    const held = guardSkips(steps);
    if (held) out.push("", yellow(held));
    // Gate verdicts of rejected (or passed) gate steps: which gate, and by how much.
    for (const s of steps.filter((x) => x.itemIndex < 0 && x.outputDigest && (x.status === "rejected" || /gate/i.test(x.stepId)))) {
      const value = (await ty.io.load(s.outputDigest!).catch(() => undefined)) as { verdicts?: Array<{ gate: string; status: string; message: string }> } | undefined;
      if (!value?.verdicts) continue;
      out.push("", bold(`gates (${s.stepId})`));
      out.push(table(value.verdicts.map((v) => [`  ${v.status === "fail" ? red("✘ fail") : v.status === "pass" ? "✔ pass" : dim("– no baseline")}`, v.gate, v.message])));
    }
    if (run.error) {
      out.push("", red(`error[${run.error.code}]: ${run.error.message}`));
      if (run.error.hint) out.push(`  hint: ${run.error.hint}`);
    }
    process.stdout.write(`${out.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}

/** Side effects a failed guard kept from running (the executor records "guard `x` failed"). */
export function guardSkips(
  steps: ReadonlyArray<{ step?: string; stepId?: string; status: string; reason?: string }>,
): string | undefined {
  const byReason = new Map<string, string[]>();
  for (const s of steps) {
    if (s.status !== "skipped" || !s.reason?.startsWith("guard `")) continue;
    byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.stepId ?? s.step ?? "?"]);
  }
  if (!byReason.size) return undefined;
  const parts = [...byReason].map(([reason, ids]) => `${ids.join(", ")} (${reason})`);
  return `side effects skipped: ${parts.join("; ")}; nothing was registered or deployed by this run`;
}

export async function logsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home", "attempt", "item"], booleans: ["json"] });
  const [runId, stepId] = args.positionals;
  if (!runId || !stepId) throw usage("trainyard logs needs a run id and a step id");
  const ty = await openHome(args);
  try {
    const run = await ty.metadata.getRun(runId);
    if (!run) throw new TrainyardError("NOT_FOUND", `no run "${runId}"`, { runId, hint: "list runs with `trainyard runs`" });
    const item = one(args, "item");
    const id = `${run.id}:${stepId}${item !== undefined ? `[${item}]` : ""}`;
    const sr = await ty.metadata.getStepRun(id);
    if (!sr) throw new TrainyardError("NOT_FOUND", `run ${run.id} has no step "${stepId}"${item !== undefined ? ` item ${item}` : ""}`, { runId: run.id, step: stepId, hint: "see the steps with `trainyard show <run>`" });
    const attempt = one(args, "attempt");
    // A map step's own record has no output: its items' logs stand for it.
    const all = item === undefined && !sr.attempts ? await ty.metadata.listStepRuns(run.id) : [];
    const items = all.filter((s) => s.stepId === stepId && s.itemIndex >= 0);
    const sources = items.length ? items.map((it) => ({ id: it.id, label: `[${it.itemIndex}] ` })) : [{ id, label: "" }];
    const out = new LogOutput(has(args, "json"));
    const attemptNo = attempt === undefined ? undefined : Number(attempt);
    for (const source of sources) {
      for await (const lines of readStepLog(ty, run.id, source.id, attemptNo)) {
        await out.write(lines, source.label);
      }
    }
    await out.end();
    if (!out.count) process.stderr.write(dim(`(no log lines for ${id})\n`));
    return 0;
  } finally {
    await ty.close();
  }
}

export async function whyCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home"], booleans: ["json"] });
  const [runId, stepId] = args.positionals;
  if (!runId || !stepId) throw usage("trainyard why needs a run id and a step id");
  const ty = await openHome(args);
  try {
    const why = await ty.why(runId, stepId);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(why, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${bold(`${why.step}`)} in run ${why.runId}: ${why.decision === "cache hit" ? cyan(why.decision) : yellow(why.decision)}\n`);
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

/** Writes log lines to stdout in blocks, waiting for the terminal or pipe to take each block. */
class LogOutput {
  count = 0;
  private block = "";

  constructor(private readonly json: boolean) {
    // A reader that stopped early (`| head`) has seen all it wanted.
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      process.exit(0);
    });
  }

  async write(run: LogRun, label: string): Promise<void> {
    if (this.json) {
      const { attempt, ts, stream } = run;
      for (const line of run.lines) this.block += `${this.count++ ? "," : "["}${JSON.stringify({ attempt, ts, stream, line: label + line })}`;
    } else {
      const kind = run.stream === "stderr" ? "err" : run.stream === "stdout" ? "out" : "log";
      const tag = `${dim(`#${run.attempt} ${kind}`)} ${label}`;
      this.block += `${tag}${run.lines.join(`\n${tag}`)}\n`;
      this.count += run.lines.length;
    }
    if (this.block.length >= 64 * 1024) await this.flush();
  }

  async end(): Promise<void> {
    if (this.json) this.block += this.count ? "]\n" : "[]\n";
    await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.block;
    this.block = "";
    if (!text || process.stdout.write(text)) return;
    await new Promise((resolve) => process.stdout.once("drain", resolve));
  }
}
