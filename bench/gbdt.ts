/**
 * Trainyard GBDT vs XGBoost 1.7 (tree_method="hist") on 3M US flights: is a flight delayed by more
 * than 15 minutes? Train on January–May 2001, test on June. Both sides get the same rows, exported
 * from DuckDB as raw float64 columns; each side times only training and prediction.
 *
 *   npx tsx bench/gbdt.ts [--threads 2] [--skip-peer]
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { DuckDBInstance, DuckDBDoubleVector } from "@duckdb/node-api";
import { rocAuc } from "../src/lib/evaluate/ranking-metrics.js";
import type { FeatureMatrix } from "../src/lib/models/feature-matrix.js";
import { trainGbdt } from "../src/lib/models/gbdt/train-gbdt.js";

const PARQUET = "node_modules/vega-datasets/data/flights-3m.parquet";
const WORK = "bench/.work/flights";
const FEATURES = ["hour", "dow", "distance", "origin", "destination"];
const args = process.argv.slice(2);
const threads = Number(args[args.indexOf("--threads") + 1] || 2);

interface Split { x: FeatureMatrix; y: Float64Array }

/** Reads a query's DOUBLE columns chunk by chunk straight into Float64Arrays. */
async function loadSplits(): Promise<{ train: Split; test: Split }> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  // Airports get one ordinal code shared by origin and destination.
  await conn.run(`CREATE TABLE f AS SELECT * FROM '${PARQUET}'`);
  await conn.run(`CREATE TABLE airports AS
    SELECT a, (row_number() OVER (ORDER BY a)) - 1 AS code FROM (SELECT origin AS a FROM f UNION SELECT destination FROM f)`);
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
console.log(`loaded train ${train.x.rows} rows, test ${test.x.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
mkdirSync(WORK, { recursive: true });
exportForPeer("train", train);
exportForPeer("test", test);

let peer: { train_s: number; predict_s: number; auc: number; xgboost: string } | null = null;
if (!args.includes("--skip-peer")) {
  const out = execFileSync("/usr/bin/python3", ["bench/peers/xgboost_flights.py", WORK], { encoding: "utf8" });
  peer = JSON.parse(out.trim().split("\n").pop()!);
  console.log(`xgboost ${peer!.xgboost}  train ${peer!.train_s.toFixed(2)} s  AUC ${peer!.auc.toFixed(4)}  predict_proba ${peer!.predict_s.toFixed(3)} s`);
}

const t1 = performance.now();
const model = trainGbdt(train.x, train.y, {
  objective: "binary:logistic", numRounds: 100, maxDepth: 6, learningRate: 0.1, maxBin: 256, threads,
});
const trainS = (performance.now() - t1) / 1000;
const t2 = performance.now();
const proba = model.predict(test.x);
const predictS = (performance.now() - t2) / 1000;
const auc = rocAuc(test.y, proba);
console.log(`trainyard (threads ${threads})  train ${trainS.toFixed(2)} s  AUC ${auc.toFixed(4)}  predict ${predictS.toFixed(3)} s`);
if (peer) {
  const r = (a: number, b: number): string => (a / b).toFixed(2);
  console.log(`ratios trainyard/xgboost: train ${r(trainS, peer.train_s)}x (target <= 2)  predict ${r(predictS, peer.predict_s)}x (target <= 1.5)  AUC diff ${(auc - peer.auc).toFixed(4)} (target |d| <= 0.005)`);
}
