/**
 * Flagship example: predict whether a US flight is delayed by more than 15 minutes, retrained without a
 * human as monthly partitions of flights-3m.parquet land. `npm start` lands them and runs this end to end;
 * `trainyard run examples/flight-delays/pipeline.ts --profile dev` trains on a 10% sample.
 */
import { pipeline, z } from "trainyard";
import { drift, ingestEach, landedFiles, profile, sampleStep, splitStep, sqlReport, sqlStep } from "trainyard/data";
import { currentModel, deploy, evaluate, features, gates, register, search, train } from "trainyard/models";
import { flightContract } from "./contract.js";

const p = pipeline("flight-delays", {
  description: "flight delay classifier, retrained as monthly partitions land",
  params: z.object({
    /** Folder the monthly partitions land in, relative to this module. */
    landing: z.string().default("landing"),
    /** A flight counts as delayed above this many minutes. */
    delayThreshold: z.number().int().positive().default(15),
    /** How much data is read: shares of the training months and of the newest month, rows per search trial. */
    trainSample: z.number().gt(0).max(1).default(1),
    evalSample: z.number().gt(0).max(1).default(1),
    searchRows: z.number().int().positive().default(200_000),
    /** Boosting rounds of the final model. */
    rounds: z.number().int().positive().default(100),
    /** Gates: ROC AUC floor on the newest month, TPR gap across the 10 busiest origins, p99 latency in ms. */
    aucFloor: z.number().min(0).max(1).default(0.65),
    maxTprGap: z.number().min(0).max(1).default(0.3),
    maxP99Ms: z.number().positive().default(5),
  }),
  profiles: {
    dev: { trainSample: 0.1, searchRows: 50_000, rounds: 30 },
    strict: { aucFloor: 0.7, maxTprGap: 0.15 },
  },
});

/** The months landed so far: a new month reruns what depends on it, the others stay cached. */
const partitions = landedFiles(p, "partitions", {
  dir: (params) => params.landing,
  match: /^flights-(?<month>\d{4}-\d{2})\.parquet$/,
  hint: "run node examples/flight-delays/land-data.mjs first",
});
const months = ingestEach(p, "ingest-month", { over: partitions, contract: flightContract });

/** Every month with the label; the newest month is held out for evaluation. */
const flights = sqlStep(p, "label", {
  inputs: { months },
  sql: (params) => `SELECT date, distance, origin, destination, delay,
      CAST(delay > ${params.delayThreshold} AS INTEGER) AS delayed FROM months WHERE delay IS NOT NULL`,
});
const split = splitStep(p, "split", { input: flights, split: { method: "time", column: "date", last: "month" } });
const trainData = sampleStep(p, "train-sample", { input: split.pick("train"), fraction: "trainSample" });
const testData = sampleStep(p, "test-sample", { input: split.pick("test"), fraction: "evalSample" });

/** Reference statistics of the training data, kept with the model; drift of the newest month. */
const columns = ["date", "delay", "distance", "origin", "destination"];
const reference = profile(p, "profile", { data: trainData, columns });
drift(p, "drift", {
  reference: trainData,
  current: testData,
  // Not the date, which differs by design; and as months differ, a shifted distribution (PSI) only warns.
  columns: ["delay", "distance", "origin", "destination"],
  config: { defaults: { psi: { threshold: 0.2, action: "warn" } } },
});

const fitted = features(p, "features", {
  train: trainData,
  spec: {
    transforms: [
      { kind: "datepart", column: "date", parts: ["hour", "day_of_week"] },
      { kind: "passthrough", column: "distance" },
      { kind: "ordinal", column: "origin" },
      { kind: "ordinal", column: "destination" },
    ],
  },
});

/** A small search on a sample of the training months, a quarter held out; each trial is cached on its own. */
const tuned = search(p, "search", {
  data: split.pick("train"),
  rows: "searchRows",
  seed: 7,
  features: fitted,
  label: "delayed",
  algorithm: { kind: "gbdt", numRounds: 30, seed: 1 },
  space: { maxDepth: [4, 6], learningRate: [0.1, 0.3] },
});

/** The final model: the search's features, label, algorithm and best trial, refit with the profile's rounds. */
const candidate = train(p, "train", {
  train: trainData,
  tuned,
  timeout: "20m",
  algorithm: (params) => ({ numRounds: params.rounds }),
});

const evaluation = evaluate(p, "evaluate", {
  candidate,
  production: currentModel(p, "production", { candidate }),
  data: testData,
  slices: [{ column: "origin" }],
  latency: { samples: 500 },
  // A fifth of flights are delayed, so a score of 0.3 already counts as a predicted delay for the TPR gap.
  fairness: [{ metric: "tpr", column: "origin", threshold: 0.3 }],
  bootstrap: { seed: 1 },
});

const checked = gates(p, "gates", {
  evaluation,
  gates: (params) => [
    { kind: "metric", metric: "auc", min: params.aucFloor },
    { kind: "relative", metric: "auc", maxRegression: 0.002 },
    { kind: "significance", metric: "auc", require: "not-worse", margin: 0.002 },
    { kind: "fairness", metric: "tpr", column: "origin", maxGap: params.maxTprGap },
    { kind: "latency", p99Ms: params.maxP99Ms },
    { kind: "size", maxBytes: 20_000_000 },
  ],
});

/** The gated candidate, with its evaluation, training data and reference statistics; then production moves. */
const registered = register(p, "register", { gates: checked, reference: reference.pick("profile") });
deploy(p, "deploy", { registered });

sqlReport(p, "report", {
  title: "flight-delays: flights per month",
  inputs: { months },
  sql: (params) => `SELECT strftime(date, '%Y-%m') AS month, count(*) AS flights, round(avg(delay), 2) AS mean_delay,
      round(100 * avg(CAST(delay > ${params.delayThreshold} AS INTEGER)), 1) AS delayed_percent,
      count(DISTINCT origin) AS airports FROM months GROUP BY month ORDER BY month`,
});

export default p;
