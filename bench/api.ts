/**
 * The HTTP API over a home of 10,000 recorded runs of a 50-step pipeline (SQLite): the latency of
 * `GET /api/v1/runs` (a page of 20, newest first, and a filtered page) and of the runs x steps
 * grid of the last 100 runs, through a real server on loopback. Targets: runs p99 < 50 ms,
 * grid < 200 ms.
 *
 *   npx tsx bench/api.ts [--runs 10000] [--steps 50] [--requests 300]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiServer } from "../src/api/server.js";
import { Trainyard } from "../src/engine/trainyard.js";
import type { RunRecord, StepRunRecord } from "../src/store/metadata-store.js";
import { flag, formatTable } from "./support/timing.js";

const RUNS = Number(flag("runs", "10000"));
const STEPS = Number(flag("steps", "50"));
const REQUESTS = Number(flag("requests", "300"));
const home = mkdtempSync(join(tmpdir(), "ty-bench-api-"));

/** Recorded runs as a daemon would leave them: one a minute, every step succeeded (some cached). */
async function seed(ty: Trainyard): Promise<void> {
  const start = Date.now() - RUNS * 60_000;
  const statuses = ["succeeded", "succeeded", "succeeded", "failed"] as const;
  let pending: StepRunRecord[] = [];
  for (let i = 0; i < RUNS; i++) {
    const createdAt = start + i * 60_000;
    const id = `bench-${String(i).padStart(6, "0")}`;
    const run: RunRecord = {
      id,
      pipeline: i % 10 === 9 ? "other" : "wide",
      modulePath: "/bench/wide.ts",
      params: { lr: 0.1, month: `2001-${(i % 12) + 1}` },
      trigger: i % 2 ? "schedule:nightly" : "manual",
      status: statuses[i % 4],
      codeVersion: "c0de",
      createdAt,
      startedAt: createdAt + 5,
      finishedAt: createdAt + 30_000,
      options: {},
    };
    await ty.metadata.createRun(run);
    for (let s = 0; s < STEPS; s++) {
      pending.push({
        id: `${id}:step-${s}`,
        runId: id,
        stepId: `step-${s}`,
        itemIndex: -1,
        status: run.status === "failed" && s === STEPS - 1 ? "failed" : "succeeded",
        cached: s % 3 === 0,
        attempts: 1,
        startedAt: createdAt + s * 500,
        finishedAt: createdAt + s * 500 + 400,
        durationMs: 400,
        cacheKey: `key-${i}-${s}`,
      });
    }
    // Step runs in batches: one transaction per 100 runs keeps seeding to seconds.
    if (pending.length >= 100 * STEPS || i === RUNS - 1) {
      await ty.metadata.saveStepRuns(pending);
      pending = [];
    }
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

async function measure(url: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

const ty = await Trainyard.open({ home });
try {
  const t0 = performance.now();
  await seed(ty);
  console.log(`seeded ${RUNS} runs x ${STEPS} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const server = await startApiServer({ ty, port: 0 });
  try {
    const api = `${server.url}/api/v1`;
    await measure(`${api}/runs`, 20); // warm-up
    const cases: Array<[string, string, number, number]> = [
      ["GET /runs (page of 20)", `${api}/runs`, REQUESTS, 50],
      ["GET /runs?status=failed&pipeline=wide", `${api}/runs?status=failed&pipeline=wide&limit=50`, REQUESTS, 50],
      [`GET /pipelines/wide/grid (100 runs x ${STEPS})`, `${api}/pipelines/wide/grid?limit=100`, 30, 200],
    ];
    const rows = [["request", "n", "p50 ms", "p99 ms", "max ms", "target", "ok"]];
    let failed = false;
    for (const [label, url, n, target] of cases) {
      const times = await measure(url, n);
      const p99 = percentile(times, 0.99);
      const ok = p99 < target;
      failed ||= !ok;
      rows.push([
        label,
        String(n),
        percentile(times, 0.5).toFixed(1),
        p99.toFixed(1),
        times[times.length - 1].toFixed(1),
        `p99 < ${target}`,
        ok ? "yes" : "NO",
      ]);
    }
    // The same reads in this process, without HTTP: what the server's own work costs.
    for (const [label, read] of [
      ["query.listRuns (in process)", () => ty.query.listRuns({ limit: 20 })],
      ["query.runGrid (in process)", () => ty.query.runGrid("wide", 100)],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        await read();
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      rows.push([
        label,
        "50",
        percentile(times, 0.5).toFixed(1),
        percentile(times, 0.99).toFixed(1),
        times[49].toFixed(1),
        "",
        "",
      ]);
    }
    console.log(formatTable(rows));
    if (failed) process.exitCode = 1;
  } finally {
    await server.close();
  }
} finally {
  await ty.close();
  rmSync(home, { recursive: true, force: true });
}
