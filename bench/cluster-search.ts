/**
 * A hyperparameter search of 64 trials (an 8 x 8 grid of depth and learning rate, GBDT) on real
 * flights (flights-200k), with the library's `search` step, on this machine's local executor and
 * across three `trainyard worker`s of a one-machine cluster (Redis, PostgreSQL, artifacts in S3 on
 * s3rver; as root each worker in its own network namespace), in one run of this script:
 *
 * 1. local executor: total time and the median trial;
 * 2. three workers: the same;
 * 3. three workers, one killed with -9 once a quarter of the trials finished: total time and the
 *    trials that ran twice (only the killed worker's in-flight trial should);
 * 4. a rerun on the cluster: every trial from the cache.
 *
 *   npx tsx bench/cluster-search.ts [--depths 8] [--rates 8] [--rows 50000] [--rounds 30] [--workers 3]
 */
import fs from "node:fs";
import path from "node:path";
import { availableParallelism, loadavg } from "node:os";
import { Trainyard } from "../src/engine/trainyard.js";
import { startCluster } from "../test/distributed/cluster.js";
import { flightSearchModule, trialsSeen } from "../test/distributed/flight-search.js";
import { netnsAvailable } from "../test/support/netns.js";
import { flag, formatTable, median } from "./support/timing.js";

const DEPTHS = [2, 3, 4, 5, 6, 7, 8, 9].slice(0, Number(flag("depths", "8")));
const RATES = [0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3].slice(0, Number(flag("rates", "8")));
const ROWS = Number(flag("rows", "50000"));
const ROUNDS = Number(flag("rounds", "30"));
const WORKERS = Number(flag("workers", "3"));
const TRIALS = DEPTHS.length * RATES.length;
/** The deployment defaults, not the tests' short lock. */
const TIMING = { lockMs: 4000, stalledCheckMs: 1500, heartbeatMs: 1000 };
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function trialMillis(ty: Trainyard, runId: string): Promise<number[]> {
  const items = (await ty.metadata.listStepRuns(runId)).filter((s) => s.stepId === "search" && s.itemIndex >= 0);
  if (items.length !== TRIALS) throw new Error(`run ${runId} has ${items.length} trials, not ${TRIALS}`);
  return items.filter((s) => !s.cached).map((s) => s.durationMs ?? 0);
}

async function main(): Promise<void> {
  const netns = netnsAvailable();
  const cluster = await startCluster({ netns, store: "s3", timing: TIMING });
  // Interrupted: stop the workers and services this script started, then leave.
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => void cluster.stop().finally(() => process.exit(130)));
  const file = path.join(cluster.dir, "bench-search.ts");
  const module = flightSearchModule({
    name: "bench-search",
    depths: DEPTHS,
    learningRates: RATES,
    rows: ROWS,
    rounds: ROUNDS,
  });
  fs.writeFileSync(file, module);
  const localHome = fs.mkdtempSync(path.join(cluster.dir, "local-"));
  const rows: string[][] = [["executor", "total", "median trial", "trials run twice", "from cache"]];
  try {
    await Promise.all(Array.from({ length: WORKERS }, (_, i) => cluster.startWorker(`b${i + 1}`)));
    // 1. This machine's local executor, every core busy.
    const local = await Trainyard.open({ home: localHome });
    try {
      const t0 = performance.now();
      const run = await local.run(file, { concurrency: availableParallelism() });
      if (run.status !== "succeeded") throw new Error(`local run ${run.status}: ${run.error?.message}`);
      const total = performance.now() - t0;
      console.error(`local: ${seconds(total)}`);
      rows.push([
        `local (${availableParallelism()} slots)`,
        seconds(total),
        seconds(median(await trialMillis(local, run.runId))),
        "-",
        "0",
      ]);
    } finally {
      await local.close();
    }
    const ty = await cluster.orchestrator();
    try {
      const onCluster = async (label: string, kill: boolean, force: boolean) => {
        const t0 = performance.now();
        const before = new Set((await ty.listRuns({ pipeline: "bench-search" })).map((r) => r.id));
        const running = ty.run(file, { concurrency: 2 * WORKERS, force });
        if (kill) {
          const runs = async () => (await ty.listRuns({ pipeline: "bench-search" })).find((r) => !before.has(r.id));
          const runId = (await waitFor(runs)).id;
          const victim = await waitFor(() => {
            const seen = cluster.workers.map((w) => trialsSeen(w.output(), runId, "search"));
            const done = seen.reduce((n, s) => n + s.ended.length, 0);
            return done >= TRIALS / 4 ? cluster.workers.find((_w, i) => seen[i].inFlight.length > 0) : undefined;
          });
          victim.child.kill("SIGKILL");
        }
        const run = await running;
        if (run.status !== "succeeded") throw new Error(`${label} run ${run.status}: ${run.error?.message}`);
        const total = performance.now() - t0;
        console.error(`${label}: ${seconds(total)}`);
        const starts = new Map<number, number>();
        for (const w of cluster.workers)
          for (const i of trialsSeen(w.output(), run.runId, "search").started) starts.set(i, (starts.get(i) ?? 0) + 1);
        const twice = [...starts.values()].filter((n) => n > 1).length;
        const ran = await trialMillis(ty, run.runId);
        rows.push([
          label,
          seconds(total),
          ran.length ? seconds(median(ran)) : "-",
          String(twice),
          String(TRIALS - ran.length),
        ]);
      };
      await onCluster(`queue (${WORKERS} workers)`, false, false);
      await onCluster(`queue (${WORKERS} workers, one killed)`, true, true);
      await onCluster(`queue rerun`, false, false);
    } finally {
      await ty.close();
    }
    console.log(
      `search of ${TRIALS} trials (GBDT, ${ROUNDS} rounds, ${ROWS} flights), ` +
        `workers ${netns ? "in network namespaces" : "as plain processes"}, artifacts in S3 (s3rver):`,
    );
    console.log(formatTable(rows));
    console.log(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} on ${availableParallelism()} CPUs`,
    );
  } finally {
    await cluster.stop();
  }
}

async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

await main();
