/**
 * Trainyard GBDT vs XGBoost 1.7 (tree_method="hist") on 3M US flights: is a flight delayed by more
 * than 15 minutes? Train on January–May 2001, test on June. Both sides get the same rows, exported
 * from DuckDB as raw float64 columns; each side times only training and prediction.
 *
 * Prediction is timed `--rounds` times on each side, interleaved (XGBoost, then Trainyard), and
 * compared by the median, because the machine this runs on is shared and noisy.
 *
 *   npx tsx bench/gbdt.ts [--threads 2] [--rounds 3] [--skip-peer]
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { DuckDBInstance, type DuckDBDoubleVector } from "@duckdb/node-api";
import { rocAuc } from "../src/lib/evaluate/ranking-metrics.js";
import type { FeatureMatrix } from "../src/lib/models/feature-matrix.js";
import { trainGbdt } from "../src/lib/models/gbdt/train-gbdt.js";

const PARQUET = "node_modules/vega-datasets/data/flights-3m.parquet";
const WORK = "bench/.work/flights";
const FEATURES = ["hour", "dow", "distance", "origin", "destination"];
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
const threads = flag("--threads", 2);
const rounds = flag("--rounds", 3);

interface Split {
  x: FeatureMatrix;
  y: Float64Array;
}

/** Reads a query's DOUBLE columns chunk by chunk straight into Float64Arrays. */
async function loadSplits(): Promise<{ train: Split; test: Split }> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  // Airports get one ordinal code shared by origin and destination.
  await conn.run(`CREATE TABLE f AS SELECT * FROM '${PARQUET}'`);
  await conn.run(`CREATE TABLE airports AS
    SELECT a, (row_number() OVER (ORDER BY a)) - 1 AS code FROM (SELECT origin AS a FROM f UNION
      SELECT destination FROM f)`);
  const read = async (where: string): Promise<Split> => {
    const result = await conn.stream(`
      SELECT hour(date)::DOUBLE, dayofweek(date)::DOUBLE, distance::DOUBLE, o.code::DOUBLE, d.code::DOUBLE,
             (delay > 15)::DOUBLE
      FROM f JOIN airports o ON f.origin = o.a JOIN airports d ON f.destination = d.a
      WHERE ${where} ORDER BY date, f.origin, f.destination, delay, distance`);
    const chunks: Float64Array[][] = [];
    let rows = 0;
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const cols: Float64Array[] = [];
      for (let c = 0; c < 6; c++) {
        const v = chunk.getColumnVector(c) as DuckDBDoubleVector;
        const out = new Float64Array(chunk.rowCount);
        for (let i = 0; i < out.length; i++) out[i] = v.getItem(i) ?? NaN;
        cols.push(out);
      }
      chunks.push(cols);
      rows += chunk.rowCount;
    }
    const columns = Array.from({ length: 6 }, () => new Float64Array(rows));
    let at = 0;
    for (const cols of chunks) {
      cols.forEach((c, j) => columns[j].set(c, at));
      at += cols[0].length;
    }
    return { x: { names: FEATURES, columns: columns.slice(0, 5), rows }, y: columns[5] };
  };
  const train = await read("month(date) <= 5");
  const test = await read("month(date) = 6");
  conn.closeSync();
  return { train, test };
}

function exportForPeer(part: string, s: Split): void {
  s.x.columns.forEach((c, j) => writeFileSync(`${WORK}/${part}_${FEATURES[j]}.f64`, c));
  writeFileSync(`${WORK}/${part}_label.f64`, s.y);
}

const t0 = performance.now();
const { train, test } = await loadSplits();
console.log(
  `loaded train ${train.x.rows} rows, test ${test.x.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
mkdirSync(WORK, { recursive: true });
exportForPeer("train", train);
exportForPeer("test", test);

interface PeerInfo {
  train_s: number;
  train_cpu_s: number;
  first_predict_s: number;
  auc: number;
  xgboost: string;
}

/** The XGBoost peer stays up after training and times one predict per request (see the .py file). */
async function startPeer(): Promise<{ info: PeerInfo; predict: () => Promise<number>; close: () => void }> {
  const child = spawn("/usr/bin/python3", ["bench/peers/xgboost_flights.py", WORK], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error("the XGBoost peer exited early");
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const info = (await next()) as unknown as PeerInfo;
  return {
    info,
    predict: async () => {
      child.stdin.write("predict\n");
      return (await next()).predict_s as number;
    },
    close: () => child.stdin.end("quit\n"),
  };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (v: number[]): string => v.map((t) => t.toFixed(3)).join(", ");

const peer = args.includes("--skip-peer") ? null : await startPeer();
if (peer) {
  const p = peer.info;
  console.log(
    `xgboost ${p.xgboost}  train ${p.train_s.toFixed(2)} s (cpu ${p.train_cpu_s.toFixed(2)} s)  ` +
      `AUC ${p.auc.toFixed(4)}  first predict ${p.first_predict_s.toFixed(3)} s`,
  );
}

const t1 = performance.now();
const cpu1 = process.cpuUsage();
const model = trainGbdt(train.x, train.y, {
  objective: "binary:logistic",
  numRounds: 100,
  maxDepth: 6,
  learningRate: 0.1,
  maxBin: 256,
  threads,
});
const trainS = (performance.now() - t1) / 1000;
const cpu = process.cpuUsage(cpu1);
const trainCpuS = (cpu.user + cpu.system) / 1e6;
let t2 = performance.now();
const proba = model.predict(test.x);
const firstSyncS = (performance.now() - t2) / 1000;
const auc = rocAuc(test.y, proba);
console.log(
  `trainyard (threads ${threads})  train ${trainS.toFixed(2)} s (cpu ${trainCpuS.toFixed(2)} s)  ` +
    `AUC ${auc.toFixed(4)}  first predict ${firstSyncS.toFixed(3)} s (sync, 1 thread)`,
);

// Prediction, interleaved round by round so both sides see the same machine load. Round 1 of
// predictAsync includes starting the worker pool.
const xgbTimes: number[] = [];
const asyncTimes: number[] = [];
const syncTimes: number[] = [];
for (let round = 0; round < rounds; round++) {
  if (peer) xgbTimes.push(await peer.predict());
  t2 = performance.now();
  const parallel = await model.predictAsync(test.x, { threads });
  asyncTimes.push((performance.now() - t2) / 1000);
  for (let i = 0; i < proba.length; i++) {
    if (parallel[i] !== proba[i])
      throw new Error(`predictAsync differs from predict at row ${i}: ${parallel[i]} vs ${proba[i]}`);
  }
  t2 = performance.now();
  model.predict(test.x);
  syncTimes.push((performance.now() - t2) / 1000);
}
peer?.close();

console.log(`predict over ${test.x.rows} rows, ${rounds} interleaved rounds (seconds; median first):`);
if (peer)
  console.log(`  xgboost   booster.predict (nthread 2)         ${median(xgbTimes).toFixed(3)}  [${fmt(xgbTimes)}]`);
console.log(
  `  trainyard ` +
    `predictAsync (threads ${threads})          ${median(asyncTimes).toFixed(3)}  [${fmt(asyncTimes)}]  (== predict, ` +
    `bit for bit)`,
);
console.log(`  trainyard predict (sync, 1 thread)          ${median(syncTimes).toFixed(3)}  [${fmt(syncTimes)}]`);
if (peer) {
  const r = (a: number, b: number): string => (a / b).toFixed(2);
  console.log(
    `ratios ` +
      `trainyard/xgboost: ` +
      `train ${r(trainS, peer.info.train_s)}x (target <= 2; ` +
      `cpu time ${r(trainCpuS, peer.info.train_cpu_s)}x)  ` +
      `predict ${r(median(asyncTimes), median(xgbTimes))}x (median, ` +
      `target <= 1.5)  AUC diff ${(auc - peer.info.auc).toFixed(4)} (target |d| <= 0.005)`,
  );
}
