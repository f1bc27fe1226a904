/**
 * A hyperparameter search on real flights (vega-datasets' flights-200k: delay, distance, time of
 * day) as a user writes it with the library's `search` step: one map item per trial, each cached
 * on its own. Shared by the cluster search test and bench/cluster-search.ts.
 */
import path from "node:path";
import { REPO } from "../engine/support.js";

export const FLIGHTS_200K = path.join(REPO, "node_modules", "vega-datasets", "data", "flights-200k.json");

export interface FlightSearchOptions {
  /** Pipeline name. */
  name: string;
  /** The grid: trials = depths x learning rates. */
  depths: number[];
  learningRates: number[];
  /** Rows sampled from the 200,000 flights for the search (a quarter of them held out). */
  rows: number;
  /** Boosting rounds of every trial. */
  rounds: number;
}

/** The pipeline module's source; write it under the cluster's directory so that "trainyard" resolves. */
export function flightSearchModule(o: FlightSearchOptions): string {
  return `import { pipeline } from "trainyard";
import { ingestStep, sampleStep, splitStep, sqlStep } from "trainyard/data";
import { features, search } from "trainyard/models";

const p = pipeline(${JSON.stringify(o.name)}, {});
const raw = ingestStep(p, "flights", { source: { path: ${JSON.stringify(FLIGHTS_200K)} } });
const labelled = sqlStep(p, "label", {
  inputs: { raw },
  sql: "SELECT delay, distance, time, CAST(delay > 15 AS INTEGER) AS delayed FROM raw",
});
const sample = sampleStep(p, "sample", { input: labelled, rows: ${o.rows}, seed: 7 });
const split = splitStep(p, "split", { input: sample, split: { method: "random", testFraction: 0.25, seed: 7 } });
const fitted = features(p, "features", {
  train: split.pick("train"),
  spec: { transforms: [{ kind: "passthrough", column: "distance" }, { kind: "passthrough", column: "time" }] },
});
search(p, "search", {
  train: split.pick("train"),
  valid: split.pick("test"),
  features: fitted,
  label: "delayed",
  algorithm: { kind: "gbdt", numRounds: ${o.rounds}, maxBin: 64, seed: 1 },
  space: { maxDepth: ${JSON.stringify(o.depths)}, learningRate: ${JSON.stringify(o.learningRates)} },
  // A trial is CPU-bound: in a child process, the worker keeps renewing its lock while it fits.
  isolate: true,
});
export default p;
`;
}

/** Per worker, the map items of `step` it started and those it finished, from its stderr lines. */
export function trialsSeen(output: string, runId: string, step: string) {
  const started: number[] = [];
  const ended: number[] = [];
  const line = new RegExp(`(\\S+) ${runId} ${step}\\[(\\d+)\\]$`, "gm");
  for (const m of output.matchAll(line)) (m[1] === "started" ? started : ended).push(Number(m[2]));
  return { started, ended, inFlight: started.filter((i) => !ended.includes(i)) };
}
