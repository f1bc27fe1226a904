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
 *    against the local executor on this machine, each run twice (alternating): the first run pays for
 *    loading the pipeline where it runs, the second is a pipeline run again; and each process's CPU.
 *
 * Both executors share the PostgreSQL metadata store, so the comparison is of the executors. Both
 * run with the V8 flags `trainyard run` and `trainyard worker` set for themselves (bin/v8-flags.js):
 * the workers get them on their node command line, and this script re-runs itself once with them.
 *
 * With `--profile <dir>`, the two workers that run only the DAG (w2, w3) write V8 CPU profiles
 * there (sampled every 200 µs, over their whole life), stopped with SIGTERM so that they are written.
 *
 *   npx tsx bench/queue.ts [--chain 200] [--chains 100] [--length 10] [--worker-concurrency 2] [--profile dir]
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
    // Each executor runs the DAG twice, alternating: the first run also loads the pipeline's bundle
    // wherever it runs (each worker, once per bundle) and warms that process's code; the second is the
    // steady state of a pipeline run again (a retrain, the next trial), and its CPU is measured.
    const totals: string[][] = [["executor", `${CHAINS * LENGTH}-step DAG: first run`, "second run"]];
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
    const cpu = { local: [] as Map<string, number>[][], queue: [] as Map<string, number>[][] };
    const dagTotals = { local: [] as number[], queue: [] as number[] };
    for (const _run of ["first", "second"])
      for (const kind of ["local", "queue"] as const) {
        const ty = await open(kind);
        const concurrency = kind === "local" ? availableParallelism() : 3 * WORKER_CONCURRENCY;
        const t0 = now();
        const before = cpuSeconds(cpuTargets);
        const from = process.hrtime.bigint() / 1000n;
        const result = await ty.run(dagFile, { concurrency, force: true });
        dagTotals[kind].push(now() - t0);
        // The profiles' timestamps are this clock's (monotonic, microseconds): the window to read.
        if (PROFILE) console.log(`${kind} DAG run: profile window ${from} ${process.hrtime.bigint() / 1000n}`);
        cpu[kind].push([before, cpuSeconds(cpuTargets)]);
        if (result.status !== "succeeded") throw new Error(`${kind} DAG run ${result.status}`);
        await ty.close();
      }
    const slots = availableParallelism();
    totals.push([`local (${slots} slots)`, ...dagTotals.local.map(ms)]);
    totals.push([`queue (3 workers x ${WORKER_CONCURRENCY})`, ...dagTotals.queue.map(ms)]);
    totals.push(["queue / local", ...[0, 1].map((i) => `${(dagTotals.queue[i] / dagTotals.local[i]).toFixed(2)}x`)]);
    console.log(`chain of ${CHAIN} steps, per step:`);
    console.log(formatTable(overhead));
    console.log(formatTable(totals));
    const used = ([from, to]: Map<string, number>[], name: string) => (to.get(name) ?? 0) - (from.get(name) ?? 0);
    const runs = [...cpu.local, ...cpu.queue];
    const names = [...runs[0][1].keys()];
    const cpuRows = names.map((name) => [name, ...runs.map((c) => `${used(c, name).toFixed(2)} s`)]);
    const cpuTotals = runs.map((c) => `${names.reduce((sum, name) => sum + used(c, name), 0).toFixed(2)} s`);
    const heads = ["local, first run", "second", "queue, first run", "second"];
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
