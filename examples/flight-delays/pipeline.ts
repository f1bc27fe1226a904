/**
 * Flagship example: predict whether a US flight is delayed by more than 15 minutes, retrained
 * without a human as monthly partitions of flights-3m.parquet land (see land-data.mjs).
 *
 *   npm start                                  # lands the data, runs this end to end
 *   trainyard run examples/flight-delays/pipeline.ts --profile dev
 */
import { writeFileSync } from "node:fs";
import { pipeline } from "trainyard";
import { drift, ingestEach, landedFiles, profile, queryDatasets, sampleStep, splitStep, sqlStep } from "trainyard/data";
import { currentModel, deploy, evaluate, features, gates, register, search, train } from "trainyard/models";
import { z } from "zod";
import { flightContract } from "./contract.js";

const MODEL = "flight-delays";

const p = pipeline("flight-delays", {
  description: "flight delay classifier, retrained as monthly partitions land",
  params: z.object({
    /** Folder the monthly partitions land in, relative to this module. */
    landing: z.string().default("landing"),
    /** A flight counts as delayed above this many minutes. */
    delayThreshold: z.number().int().positive().default(15),
    /** Fraction of the training months used for the final model (tests use a small one). */
    trainSample: z.number().gt(0).max(1).default(1),
    /** Fraction of the newest month used for evaluation (tests use a small one). */
    evalSample: z.number().gt(0).max(1).default(1),
    /** Rows of the training months the hyperparameter search trains each trial on. */
    searchRows: z.number().int().positive().default(200_000),
    /** Boosting rounds of the final model. */
    rounds: z.number().int().positive().default(100),
    /** Gate: the candidate's ROC AUC on the newest month must reach this. */
    aucFloor: z.number().min(0).max(1).default(0.65),
    /** Gate: largest allowed true-positive-rate gap across the ten busiest origin airports. */
    maxTprGap: z.number().min(0).max(1).default(0.3),
    /** Gate: p99 single-row prediction latency through the serving code path, ms. */
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
  params: ["landing"],
  match: /^flights-(?<month>\d{4}-\d{2})\.parquet$/,
  hint: "run node examples/flight-delays/land-data.mjs first",
});
const months = ingestEach(p, "ingest-month", { over: partitions, contract: flightContract });

/** Per-month figures for the report, cached per month like the ingestion. */
const summaries = p.map("summarize-month", {
  over: months,
  params: ["delayThreshold"],
  run: async (ctx, month) => {
    const [row] = await queryDatasets<{ flights: number; mean_delay: number; delayed_share: number; airports: number }>(
      { month },
      `SELECT count(*)::INTEGER AS flights, avg(delay)::DOUBLE AS mean_delay,
         count(DISTINCT origin)::INTEGER AS airports,
         avg(CAST(delay > ${ctx.params.delayThreshold} AS INTEGER))::DOUBLE AS delayed_share FROM month`,
    );
    return { month: String(month.meta.month), ...row };
  },
});

/** Every month with the label; the newest month is held out for evaluation. */
const flights = sqlStep(p, "label", {
  inputs: { months },
  params: ["delayThreshold"],
  sql: (params) => `SELECT date, distance, origin, destination, delay,
      CAST(delay > ${params.delayThreshold} AS INTEGER) AS delayed FROM months WHERE delay IS NOT NULL`,
});
const split = splitStep(p, "split", { input: flights, split: { method: "time", column: "date", last: "month" } });
const trainData = sampleStep(p, "train-sample", { input: split.pick("train"), fraction: "trainSample" });
const testData = sampleStep(p, "test-sample", { input: split.pick("test"), fraction: "evalSample" });

/** Reference statistics of the training data, kept with the model; drift of the newest month. */
const columns = ["date", "delay", "distance", "origin", "destination"];
const reference = profile(p, "profile", { data: trainData, columns });
const warnAt = (threshold: number) => ({ threshold, action: "warn" as const });
drift(p, "drift", {
  reference: trainData,
  current: testData,
  config: {
    include: ["delay", "distance", "origin", "destination"],
    defaults: { psi: warnAt(0.2), lInfinity: warnAt(0.1), jsDistance: warnAt(0.1) },
    schema: { added: "warn", removed: "fail", retyped: "fail" },
  },
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

/** A small search on a sample of the training months; each trial is cached on its own. */
const searchRows = sampleStep(p, "search-data", { input: split.pick("train"), rows: "searchRows", seed: 7 });
const searchSplit = splitStep(p, "search-split", {
  input: searchRows,
  split: { method: "random", testFraction: 0.25, seed: 7 },
});
const tuned = search(p, "search", {
  train: searchSplit.pick("train"),
  valid: searchSplit.pick("test"),
  features: fitted,
  label: "delayed",
  algorithm: { kind: "gbdt", numRounds: 30, maxBin: 256, seed: 1 },
  space: { maxDepth: [4, 6], learningRate: [0.1, 0.3] },
});

/** The search's best depth and learning rate, with the number of rounds for the final model. */
const hyperparameters = p.step("hyperparameters", {
  inputs: { tuned },
  params: ["rounds"],
  run: (ctx, { tuned }) => ({ ...tuned.best, numRounds: ctx.params.rounds }),
});

const candidate = train(p, "train", {
  train: trainData,
  features: fitted,
  label: "delayed",
  tuned: hyperparameters,
  timeout: "20m",
  algorithm: { kind: "gbdt", numRounds: 100, maxDepth: 6, learningRate: 0.1, maxBin: 256, seed: 1 },
});

const production = currentModel(p, "production", { name: MODEL, candidate });
const evaluation = evaluate(p, "evaluate", {
  candidate,
  production,
  data: testData,
  slices: [{ column: "origin", top: 10 }],
  latency: { samples: 500 },
  fairness: [{ metric: "tpr", column: "origin", topGroups: 10, threshold: 0.3 }],
  bootstrap: { metrics: ["auc"], resamples: 200, seed: 1 },
});

const checked = gates(p, "gates", {
  evaluation,
  params: ["aucFloor", "maxTprGap", "maxP99Ms"],
  gates: (params) => [
    { kind: "metric", metric: "auc", min: params.aucFloor, name: "auc floor" },
    { kind: "relative", metric: "auc", maxRegression: 0.002, name: "no auc regression vs production" },
    {
      kind: "significance",
      metric: "auc",
      require: "not-worse",
      margin: 0.002,
      name: "not worse than production (bootstrap)",
    },
    {
      kind: "fairness",
      metric: "tpr",
      column: "origin",
      maxGap: params.maxTprGap,
      name: "tpr gap across the 10 busiest origins",
    },
    { kind: "latency", p99Ms: params.maxP99Ms, name: "p99 latency" },
    { kind: "size", maxBytes: 20_000_000, name: "model size" },
  ],
});

const registered = register(p, "register", {
  name: MODEL,
  model: candidate,
  gates: checked,
  evaluation,
  data: trainData,
  reference: reference.pick("profile"),
});
deploy(p, "deploy", { registered, alias: "production" });

/** A small HTML report over all months. */
p.step("report", {
  description: "monthly summary report",
  inputs: { summaries, evaluation },
  run: (ctx, { summaries, evaluation }) => {
    const auc = evaluation.evaluation.candidate.metrics.auc;
    const rows = summaries.map(
      (m) =>
        `<tr><td>${m.month}</td><td>${m.flights}</td><td>${m.mean_delay.toFixed(2)}</td>` +
        `<td>${(100 * m.delayed_share).toFixed(1)}%</td><td>${m.airports}</td></tr>`,
    );
    writeFileSync(
      `${ctx.workdir}/report.html`,
      `<!doctype html><meta charset="utf-8">
<title>flight-delays: flights per month</title>
<h1>Flights per month</h1><p>candidate ROC AUC on the newest month: ${auc.toFixed(4)}</p>
<table><tr><th>month</th><th>flights</th><th>mean delay</th><th>delayed</th><th>airports</th></tr>
${rows.join("\n")}</table>`,
    );
    return { report: ctx.file("report.html", { contentType: "text/html" }), months: summaries.length, auc };
  },
});

export default p;
