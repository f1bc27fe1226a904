/**
 * The queue executor against the local executor, in one run of this script, on loopback (Redis,
 * PostgreSQL and a shared artifact directory on this machine):
 *
 * 1. Per-step overhead on a chain of trivial steps: enqueue (the scheduler's hand-over) to the
 *    start on a worker, and a worker's end of a step to the hand-over of the next one (its
 *    commit, the result's way back and the scheduler's turn), p50 and p99, with the queues in
 *    Redis and in PostgreSQL (BullMQ's PostgreSQL backend). The local executor's figures are
 *    hand-over to attempt start and result to next hand-over.
 * 2. A DAG of 1,000 trivial steps (100 chains of 10): total time across three worker processes
 *    against the local executor on this machine: a first run each (it pays for loading the pipeline
 *    where it runs), then `--rounds` runs again each, alternating, of which the medians and the median
 *    of the rounds' ratios are printed; and each process's CPU.
 *
 * Both executors share the PostgreSQL metadata store, so the comparison is of the executors. Both
 * run with the V8 flags `trainyard run` and `trainyard worker` set for themselves (bin/v8-flags.js):
 * the workers get them on their node command line, and this script re-runs itself once with them.
 *
 * With `--profile <dir>`, the two workers that run only the DAG (w2, w3) write V8 CPU profiles
 * there (sampled every 200 µs, over their whole life), stopped with SIGTERM so that they are written.
 *
 *   npx tsx bench/queue.ts [--chain 200] [--chains 100] [--length 10] [--worker-concurrency 2] [--rounds 5]
 *     [--profile dir]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { QueueExecutor } from "../src/distributed/queue-executor.js";
import { registerQueueExecutor } from "../src/distributed/register-queue-executor.js";
import { ExecutorRegistry } from "../src/engine/executor-registry.js";
import { LocalExecutor } from "../src/engine/local-executor.js";
import type { Executor, StepTask } from "../src/engine/step-task.js";
import { Trainyard } from "../src/engine/trainyard.js";
import { startPostgres } from "../test/support/postgres.js";
import { startRedis } from "../test/support/redis.js";
import { type CpuTarget, cpuSeconds } from "./support/process-cpu.js";
import { shippedNodeFlags, runWithShippedFlags } from "./support/shipped-v8-flags.js";
import { flag, formatTable } from "./support/timing.js";

const CHAIN = Number(flag("chain", "200"));
const CHAINS = Number(flag("chains", "100"));
const LENGTH = Number(flag("length", "10"));
const WORKER_CONCURRENCY = Number(flag("worker-concurrency", "2"));
/** DAG runs of each executor after its first, alternating. */
const ROUNDS = Number(flag("rounds", "5"));
const PROFILE = flag("profile", "");
const ROOT = resolve("bench/.work/queue");
/** The chain's pipeline: the only one whose tasks workers mark (start and end) on stdout. */
const CHAIN_NAME = "queue-bench-chain";
const now = () => performance.timeOrigin + performance.now();

function chainModule(name: string, length: number, chains = 1): string {
  const lines = ['import { pipeline } from "trainyard";', `const p = pipeline(${JSON.stringify(name)}, {});`];
  for (let c = 0; c < chains; c++)
    for (let s = 0; s < length; s++) {
      const id = `c${c}_s${s}`;
      const prev = `c${c}_s${s - 1}`;
      lines.push(
        s === 0
          ? `const ${id} = p.step("${id}", { run: () => ${c} });`
          : `const ${id} = p.step("${id}", { inputs: { x: ${prev} }, run: (_ctx, { x }) => x + 1 });`,
      );
    }
  lines.push("export default p;");
  return `${lines.join("\n")}\n`;
}

/** Wraps an executor to stamp each hand-over, attempt start (as reported) and result. */
function timed(inner: Executor, marks: Map<string, { submit: number; started?: number; result?: number }>): Executor {
  return {
    name: inner.name,
    get capacity() {
      return inner.capacity;
    },
    hasRoom: (task?: StepTask) => inner.hasRoom(task),
    async submit(task, onEvent) {
      const mark = { submit: now() } as { submit: number; started?: number; result?: number };
      marks.set(task.stepRunId, mark);
      const result = await inner.submit(task, (e) => {
        if (e.type === "attempt-started") mark.started ??= now();
        onEvent(e);
      });
      mark.result = now();
      return result;
    },
    cancel: (id, reason) => inner.cancel(id, reason),
    close: () => inner.close(),
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function main(): Promise<void> {
  registerQueueExecutor();
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(ROOT, { recursive: true });
  const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  const artifacts = join(ROOT, "artifacts");
  const executor = { kind: "queue", redis: redis.url, lockMs: 4000, stalledCheckMs: 1500, heartbeatMs: 1000 };
  const config = join(ROOT, "trainyard.config.ts");
  const configValue = {
    metadata: { kind: "postgres", url: postgres.url },
    artifacts: { kind: "fs", root: artifacts },
    executor,
  };
  writeFileSync(config, `export default ${JSON.stringify(configValue)};\n`);
  const executorPg = { ...executor, redis: undefined, postgres: postgres.url };
  const configPg = join(ROOT, "trainyard.pg.config.ts");
  writeFileSync(configPg, `export default ${JSON.stringify({ ...configValue, executor: executorPg })};\n`);
  const workers: ChildProcess[] = [];
  const workerPids = new Map<string, number>();
  const workerMarks = new Map<string, { started?: number; ended?: number }>();
  const profiled: ChildProcess[] = [];
  const startWorker = async (id: string, configFile = config) => {
    const home = join(ROOT, `worker-${id}`);
    const env = { ...process.env, TRAINYARD_CACHE_DIR: join(home, "cache") };
    const profile = PROFILE && (id === "w2" || id === "w3");
    const child = spawn(
      process.execPath,
      [
        ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${resolve(PROFILE)}`, "--cpu-prof-interval=200"] : []),
        ...shippedNodeFlags(),
        "--import",
        "tsx",
        "bench/support/queue-worker.ts",
        configFile,
        home,
        id,
        String(WORKER_CONCURRENCY),
        CHAIN_NAME,
      ],
      { env, stdio: ["ignore", "pipe", "inherit"] },
    );
    workers.push(child);
    if (profile) profiled.push(child);
    workerPids.set(id, child.pid!);
    await new Promise<void>((ready) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const e = JSON.parse(line) as { type: string; stepRunId?: string; at?: number };
        if (e.type === "ready") return ready();
        const m = workerMarks.get(e.stepRunId!) ?? {};
        if (e.type === "started") m.started = e.at;
        else m.ended = e.at;
        workerMarks.set(e.stepRunId!, m);
      });
    });
  };

  const marks = new Map<string, { submit: number; started?: number; result?: number }>();
  const executors = new ExecutorRegistry([
    ["local", (ctx) => timed(new LocalExecutor(ctx), marks)],
    ["queue", async (ctx) => timed(await QueueExecutor.create(ctx), marks)],
  ]);
  const open = (kind: "local" | "queue" | "queue-pg") =>
    Trainyard.open({
      home: join(ROOT, `orchestrator-${kind}`),
      metadata: { kind: "postgres", url: postgres.url },
      artifacts: { kind: "fs", root: artifacts },
      executor: kind === "queue" ? executor : kind === "queue-pg" ? executorPg : { kind: "local" },
      executors,
    });
  const chainFile = join(ROOT, "chain.ts");
  const dagFile = join(ROOT, "dag.ts");
  writeFileSync(chainFile, chainModule(CHAIN_NAME, CHAIN));
  writeFileSync(dagFile, chainModule("queue-bench-dag", LENGTH, CHAINS));
  try {
    await Promise.all([startWorker("w1"), startWorker("pg1", configPg)]);
    // 1. Per-step overhead on a chain, each executor on its own run; a warm-up run first.
    const overhead: string[][] = [["executor", "hand-over to start p50", "p99", "end to next hand-over p50", "p99"]];
    const label = { local: "local", queue: "queue (Redis)", "queue-pg": "queue (PostgreSQL)" };
    for (const kind of ["local", "queue", "queue-pg"] as const) {
      const ty = await open(kind);
      await ty.run(chainFile, { concurrency: 1, force: true });
      marks.clear();
      const result = await ty.run(chainFile, { concurrency: 1, force: true });
      if (result.status !== "succeeded") throw new Error(`${kind} chain run ${result.status}`);
      const toStart: number[] = [];
      const toNext: number[] = [];
      for (let s = 0; s < CHAIN; s++) {
        const id = `${result.runId}:c0_s${s}`;
        const m = marks.get(id)!;
        const w = workerMarks.get(id);
        toStart.push((kind === "local" ? m.started! : w!.started!) - m.submit);
        if (s + 1 < CHAIN) {
          const next = marks.get(`${result.runId}:c0_s${s + 1}`)!;
          toNext.push(next.submit - (kind === "local" ? m.result! : w!.ended!));
        }
      }
      overhead.push([
        label[kind],
        ms(pct(toStart, 50)),
        ms(pct(toStart, 99)),
        ms(pct(toNext, 50)),
        ms(pct(toNext, 99)),
      ]);
      await ty.close();
    }
    // 2. The 1,000-step DAG: local executor vs three workers.
    await Promise.all([startWorker("w2"), startWorker("w3")]);
    // Each executor's first run also loads the pipeline's bundle wherever it runs (each worker, once per
    // bundle) and warms that process's code; the runs after it are the steady state of a pipeline run
    // again (a retrain, the next trial).
    const pgPort = new URL(postgres.url).port;
    const cpuTargets: CpuTarget[] = [
      { name: "orchestrator (this process)", pid: process.pid },
      ...["w1", "w2", "w3"].map((id) => ({
        name: `worker ${id}`,
        pid: workerPids.get(id)!,
      })),
      { name: "redis-server", server: (c) => c.startsWith("redis-server") && c.includes(`:${redis.port}`) },
      { name: "postgres (all backends)", server: (c) => /postgres\b/.test(c) && c.includes(`-p ${pgPort}`) },
    ];
    /** Per executor and run: wall time, and each process's CPU seconds in it. */
    type DagRun = { ms: number; cpu: Map<string, number> };
    const runs = { local: [] as DagRun[], queue: [] as DagRun[] };
    // One first run each, then ROUNDS rounds alternating: the noise of a shared machine falls on both alike.
    for (let round = 0; round <= ROUNDS; round++)
      for (const kind of ["local", "queue"] as const) {
        const ty = await open(kind);
        const concurrency = kind === "local" ? availableParallelism() : 3 * WORKER_CONCURRENCY;
        const t0 = now();
        const before = cpuSeconds(cpuTargets);
        const from = process.hrtime.bigint() / 1000n;
        const result = await ty.run(dagFile, { concurrency, force: true });
        const wall = now() - t0;
        const after = cpuSeconds(cpuTargets);
        // The profiles' timestamps are this clock's (monotonic, microseconds): the window to read.
        if (PROFILE) console.log(`${kind} DAG run ${round}: profile window ${from} ${process.hrtime.bigint() / 1000n}`);
        if (result.status !== "succeeded") throw new Error(`${kind} DAG run ${result.status}`);
        const cpu = new Map([...after].map(([name, s]) => [name, s - (before.get(name) ?? 0)]));
        runs[kind].push({ ms: wall, cpu });
        await ty.close();
      }
    const median = (xs: number[]) => pct(xs, 50);
    const steady = (kind: "local" | "queue") => runs[kind].slice(1);
    const ratios = steady("queue").map((q, i) => q.ms / steady("local")[i].ms);
    const slots = availableParallelism();
    const totals: string[][] = [
      ["executor", `${CHAINS * LENGTH}-step DAG: first run`, `run again: median of ${ROUNDS}`, "min", "max"],
    ];
    for (const [kind, label] of [
      ["local", `local (${slots} slots)`],
      ["queue", `queue (3 workers x ${WORKER_CONCURRENCY})`],
    ] as const) {
      const again = steady(kind).map((r) => r.ms);
      totals.push([label, ms(runs[kind][0].ms), ms(median(again)), ms(Math.min(...again)), ms(Math.max(...again))]);
    }
    totals.push([
      "queue / local",
      `${(runs.queue[0].ms / runs.local[0].ms).toFixed(2)}x`,
      `${median(ratios).toFixed(2)}x (median of the rounds' ratios)`,
      `${Math.min(...ratios).toFixed(2)}x`,
      `${Math.max(...ratios).toFixed(2)}x`,
    ]);
    console.log(`chain of ${CHAIN} steps, per step:`);
    console.log(formatTable(overhead));
    console.log(formatTable(totals));
    const names = [...runs.local[0].cpu.keys()];
    const columns = (["local", "queue"] as const).flatMap((kind) => [
      (name: string) => runs[kind][0].cpu.get(name) ?? 0,
      (name: string) => median(steady(kind).map((r) => r.cpu.get(name) ?? 0)),
    ]);
    const cpuRows = names.map((name) => [name, ...columns.map((column) => `${column(name).toFixed(2)} s`)]);
    const cpuTotals = columns.map((column) => `${names.reduce((sum, name) => sum + column(name), 0).toFixed(2)} s`);
    const heads = ["local, first run", "again (median)", "queue, first run", "again (median)"];
    console.log(formatTable([["CPU during the DAG runs", ...heads], ...cpuRows, ["total", ...cpuTotals]]));
    console.log(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} on ${availableParallelism()} CPUs`,
    );
  } finally {
    // A profile is written when its process exits on its own: the worker stops on SIGTERM.
    await Promise.all(
      profiled.map((w) => {
        const exited = new Promise((done) => w.once("exit", done));
        w.kill("SIGTERM");
        return exited;
      }),
    );
    for (const w of workers) w.kill("SIGKILL");
    await Promise.all([redis.stop(), postgres.stop()]);
    rmSync(ROOT, { recursive: true, force: true });
  }
}

await runWithShippedFlags();
await main();
