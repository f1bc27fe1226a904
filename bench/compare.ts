/**
 * Experiment tracking's reads at 500 runs of one pipeline (SQLite, real runs of a fixture that
 * records per-epoch losses and a 6-trial search), through a real API server on loopback: the
 * compare picker's pages of 100 runs with final metrics, the whole list paged through, and a
 * comparison of 2 and of 100 runs. Target: each picker page < 100 ms at p99.
 *
 *   npx tsx bench/compare.ts [--runs 500] [--requests 30]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiServer } from "../src/api/server.js";
import { Trainyard } from "../src/engine/trainyard.js";
import { flag, formatTable } from "./support/timing.js";

const RUNS = Number(flag("runs", "500"));
const REQUESTS = Number(flag("requests", "30"));
const FIXTURE = join(import.meta.dirname, "..", "test", "fixtures", "experiments", "experiment-pipeline.ts");
const home = mkdtempSync(join(tmpdir(), "ty-bench-compare-"));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

async function timed(n: number, call: () => Promise<Response>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await call();
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

const ty = await Trainyard.open({ home });
try {
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    ids.push((await ty.run(FIXTURE, { params: { lr: 0.05 + (i % 40) / 100, epochs: 4 + (i % 5) } })).runId);
  }
  console.log(`ran ${RUNS} runs of the experiments fixture in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const server = await startApiServer({ ty, port: 0 });
  try {
    const api = `${server.url}/api/v1`;
    // A POST carries the same-origin header every client of the API sends.
    const headers = { "content-type": "application/json", "x-requested-with": "trainyard-bench" };
    const post = (body: unknown) => fetch(`${api}/compare`, { method: "POST", headers, body: JSON.stringify(body) });
    const pageUrls: string[] = [];
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const url = `${api}/pipelines/experiments/runs?limit=100${cursor ? `&cursor=${cursor}` : ""}`;
      pageUrls.push(url);
      cursor = ((await (await fetch(url)).json()) as { nextCursor?: string }).nextCursor;
    }
    await timed(5, () => fetch(pageUrls[0])); // warm-up
    const cases: Array<[string, number, () => Promise<Response>, number | undefined]> = [
      ["GET picker page 1 (100 runs + final metrics)", REQUESTS, () => fetch(pageUrls[0]), 100],
      [`GET picker last page (of ${pageUrls.length})`, REQUESTS, () => fetch(pageUrls[pageUrls.length - 1]), 100],
      ["GET /compare?runs=a,b", REQUESTS, () => fetch(`${api}/compare?runs=${ids[0]},${ids[1]}`), undefined],
      ["POST /compare (100 runs)", 10, () => post({ runs: ids.slice(0, 100) }), undefined],
      ["GET /runs/{run}/metrics", REQUESTS, () => fetch(`${api}/runs/${ids[0]}/metrics`), undefined],
    ];
    const rows = [["request", "n", "p50 ms", "p99 ms", "max ms", "target", "ok"]];
    let failed = false;
    for (const [label, n, call, target] of cases) {
      const times = await timed(n, call);
      const p99 = percentile(times, 0.99);
      const ok = target === undefined || p99 < target;
      failed ||= !ok;
      const verdict = target === undefined ? "" : ok ? "yes" : "NO";
      rows.push([
        label,
        String(n),
        percentile(times, 0.5).toFixed(1),
        p99.toFixed(1),
        times[times.length - 1].toFixed(1),
        target ? `p99 < ${target}` : "",
        verdict,
      ]);
    }
    const t1 = performance.now();
    for (const url of pageUrls) await (await fetch(url)).arrayBuffer();
    const whole = (performance.now() - t1).toFixed(1);
    rows.push([`whole picker (${RUNS} runs, ${pageUrls.length} pages)`, "1", whole, "", "", "", ""]);
    console.log(formatTable(rows));
    if (failed) process.exitCode = 1;
  } finally {
    await server.close();
  }
} finally {
  await ty.close();
  rmSync(home, { recursive: true, force: true });
}
