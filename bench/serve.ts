/**
 * `trainyard serve` vs a bare `node:http` hello world, on loopback, with autocannon.
 *
 * The model is real: a GBDT trained on a week of the 3M-flight data set (is a flight delayed
 * more than 15 minutes?) with fitted features, written as a bundle, registered and promoted to
 * `production`. Each server runs as its own child process (`trainyard serve` exactly as a user
 * starts it), so the load generator does not share their event loop. Every run is bounded by
 * time (and by the fixed rate where there is one); only 127.0.0.1 is used.
 *
 *   npx tsx bench/serve.ts [--duration 10] [--rounds 3] [--connections 50] [--log-sample 0.1]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Trainyard } from "../src/engine/trainyard.js";
import { applyFeatures } from "../src/lib/features/apply-features.js";
import { fitFeatures } from "../src/lib/features/fit-features.js";
import { readRawColumns } from "../src/lib/features/read-raw-columns.js";
import { trainGbdt } from "../src/lib/models/gbdt/train-gbdt.js";
import { promoteAlias, registerModel } from "../src/lib/registry/index.js";
import { BUNDLE_FORMAT, writeModelBundle } from "../src/lib/serving/model-bundle.js";
import { loadPredictor } from "../src/lib/serving/predictor.js";
import { flag, formatTable, runTimed } from "./support/timing.js";

/** The part of autocannon's (untyped) API used here. */
interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p99_9?: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<LoadResult> & { stop(): void };
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const PARQUET = "node_modules/vega-datasets/data/flights-3m.parquet";
const DURATION = Number(flag("duration", "10"));
const CONNECTIONS = Number(flag("connections", "50"));
const LOG_SAMPLE = flag("log-sample", "0.01");
const ROUNDS = Number(flag("rounds", "3"));
const ROW = { date: Date.UTC(2001, 5, 12, 17, 30), distance: 679, origin: "SEA", destination: "SFO" };
const BODY = JSON.stringify({ rows: [ROW] });

/** Trains the model and stores it in a fresh home as flights@production. */
async function prepareHome(home: string): Promise<{ trainMs: number; trees: number }> {
  const t0 = performance.now();
  const source = { path: PARQUET, where: "date < TIMESTAMP '2001-01-08'" };
  const fitted = await fitFeatures(source, {
    transforms: [
      { kind: "passthrough", column: "distance" },
      { kind: "frequency", column: "origin" },
      { kind: "frequency", column: "destination" },
      { kind: "datepart", column: "date", parts: ["hour", "day_of_week"] },
    ],
  });
  // The label is read in the same query as the inputs, so rows stay aligned.
  const raw = await readRawColumns(source, {
    inputs: [...fitted.inputs, { name: "delay", type: "number", nullable: true }],
  });
  const delay = raw.columns.delay as Float64Array;
  const y = Float64Array.from(delay, (d) => (d > 15 ? 1 : 0));
  const model = trainGbdt(applyFeatures(fitted, raw), y, { numRounds: 100, maxDepth: 6, seed: 1 });
  const dir = mkdtempSync(join(tmpdir(), "ty-bench-model-"));
  writeModelBundle(dir, {
    format: BUNDLE_FORMAT,
    task: "binary",
    label: "delayed",
    classes: [0, 1],
    features: fitted,
    estimator: model.toJSON(),
    training: { rows: raw.rows, source: PARQUET },
  });
  // Fail here, not under load, if the bundle does not score a request row.
  await (await loadPredictor(dir)).predictRows([ROW]);
  const ty = await Trainyard.open({ home });
  const stored = await ty.artifacts.putDirectory(dir, { consume: true });
  const { version } = await registerModel(ty, {
    model: "flights",
    artifactDigest: stored.digest,
    gates: [{ gate: "bench", status: "pass" }],
  });
  await promoteAlias(ty, "flights", "production", version.version, { actor: "bench", hooks: [] });
  await ty.close();
  rmSync(dir, { recursive: true, force: true });
  return { trainMs: performance.now() - t0, trees: model.numTrees };
}

/** Starts a server process and resolves its URL from the first line it prints. */
function startProcess(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${out}${err}`)), 30_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

const BARE = `
  const http = require("node:http");
  const s = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hello world");
  });
  s.listen(0, "127.0.0.1", () => console.log("listening on http://127.0.0.1:" + s.address().port));`;

interface Load {
  url: string;
  post?: boolean;
  duration: number;
  connections: number;
  overallRate?: number;
}

async function load(o: Load): Promise<LoadResult> {
  const instance = autocannon({
    url: o.url,
    method: o.post ? "POST" : "GET",
    headers: o.post ? { "content-type": "application/json" } : undefined,
    body: o.post ? BODY : undefined,
    connections: o.connections,
    duration: o.duration,
    overallRate: o.overallRate,
    timeout: 10,
  });
  // A watchdog in case the target stops answering: the run must end.
  const watchdog = setTimeout(() => instance.stop(), (o.duration + 15) * 1000);
  try {
    return await instance;
  } finally {
    clearTimeout(watchdog);
  }
}

function medianRun(runs: LoadResult[]): LoadResult {
  return [...runs].sort((a, b) => a.requests.average - b.requests.average)[runs.length >> 1];
}

/** Cumulative bucket counts of the server's own predict latency histogram, by upper bound. */
async function serverHistogram(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(
    /request_duration_seconds_bucket\{model="flights",alias="production",le="([^"]+)"\} (\d+)/g,
  )) {
    out.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** The bucket bound holding quantile q of the requests observed between two scrapes. */
function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const le of bounds) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le;
  return Infinity;
}

function buildDistIfStale(): void {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  let built = 0;
  try {
    built = statSync("dist/cli/entry.js").mtimeMs;
  } catch {
    // not built yet
  }
  if (newest("src") > built) runTimed(process.execPath, ["scripts/build.mjs"]);
}

async function main(): Promise<void> {
  buildDistIfStale();
  const home = mkdtempSync(join(tmpdir(), "ty-bench-serve-"));
  const children: ChildProcess[] = [];
  try {
    const prep = await prepareHome(home);
    console.log(
      `model: GBDT, ${prep.trees} trees on flights 2001-01-01..07 ` +
        `(trained and registered in ${(prep.trainMs / 1000).toFixed(1)} s)`,
    );
    const bare = await startProcess(["-e", BARE], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    children.push(bare.child);
    const ty = await startProcess(
      ["bin/trainyard.js", "serve", "--home", home, "--port", "0", "--log-sample", LOG_SAMPLE],
      /listening on (http:\/\/127\.0\.0\.1:\d+)/,
    );
    children.push(ty.child);
    const predictUrl = `${ty.url}/v1/models/flights/production:predict`;
    const check = await fetch(predictUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: BODY,
    });
    console.log(`sample response: ${check.status} ${await check.text()}`);

    // Warm-ups let both servers' JIT settle; then bare and trainyard alternate, round by round,
    // so that load from elsewhere on the machine hits both alike; the median round is reported.
    await load({ url: bare.url, duration: 2, connections: CONNECTIONS });
    await load({ url: predictUrl, post: true, duration: 2, connections: CONNECTIONS });
    const bareRuns: LoadResult[] = [];
    const tyRuns: LoadResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRuns.push(await load({ url: bare.url, duration: DURATION, connections: CONNECTIONS }));
      tyRuns.push(await load({ url: predictUrl, post: true, duration: DURATION, connections: CONNECTIONS }));
    }
    const before = await serverHistogram(ty.url);
    const fixed = await load({ url: predictUrl, post: true, duration: DURATION, connections: 10, overallRate: 1000 });
    const serverSide = quantileBetween(before, await serverHistogram(ty.url), 0.99);
    // The same fixed rate against the hello world: the latency floor of this machine and load
    // generator, so a client-side p99 can be read against what no server could beat here.
    const bareFixed = await load({ url: bare.url, duration: DURATION, connections: 10, overallRate: 1000 });

    const bareRun = medianRun(bareRuns);
    const tyRun = medianRun(tyRuns);
    const ratio = tyRun.requests.average / bareRun.requests.average;
    const failed = (r: LoadResult) => r.non2xx + r.errors + r.timeouts;
    const row = (name: string, r: LoadResult) => [
      name,
      r.requests.average.toFixed(0),
      String(r.latency.p50),
      String(r.latency.p99),
      String(r.requests.total),
      String(failed(r)),
    ];
    console.log("");
    console.log(
      formatTable([
        ["run", "req/s (mean)", "p50 ms", "p99 ms", "requests", "failed"],
        row("bare node:http hello world (median round)", bareRun),
        row("trainyard serve, 1-row predict (median round)", tyRun),
        row("trainyard serve @ 1,000 req/s", fixed),
        row("bare node:http hello world @ 1,000 req/s", bareFixed),
      ]),
    );
    const rates = (runs: LoadResult[]) => runs.map((r) => r.requests.average.toFixed(0)).join(", ");
    console.log(`rounds req/s: bare ${rates(bareRuns)}; trainyard ${rates(tyRuns)}`);
    console.log("");
    console.log(
      `throughput ratio ` +
        `trainyard/bare: ${(ratio * 100).toFixed(1)}% (target >= 60%: ${ratio >= 0.6 ? "met" : "NOT met"})`,
    );
    console.log(
      `p99 latency at 1,000 req/s: ${fixed.latency.p99} ms client-side ` +
        `(target < 5 ms: ${fixed.latency.p99 < 5 ? "met" : "NOT met"}); server-side ` +
        `p99 <= ${serverSide * 1000} ms (its /metrics ` +
        `histogram); ` +
        `bare hello world at the same rate: p99 ${bareFixed.latency.p99} ms`,
    );
    console.log(
      `(${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds, ` +
        `prediction ` +
        `log sample ${LOG_SAMPLE}, loopback, ${process.version}, ${availableParallelism()} CPUs shared by load ` +
        `generator and servers; ` +
        `load average ${loadavg()[0].toFixed(1)})`,
    );
    if (failed(tyRun) || failed(fixed)) process.exitCode = 1;
  } finally {
    for (const c of children) c.kill("SIGTERM");
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
