/**
 * Flagship example: predict whether a US flight is delayed by more than 15 minutes, retrained
 * without a human as monthly partitions of flights-3m.parquet land (see land-data.mjs).
 *
 *   ingest (map over months, each checked against the contract) -> combine -> time split
 *   -> profile + drift of the newest month vs the training months -> features
 *   -> hyperparameter search (map) -> train GBDT -> evaluate vs production
 *   -> gates (AUC floor, no regression with significance, TPR gap, p99 latency, size)
 *   -> register -> deploy (production alias)
 *
 *   npm start                                  # lands the data, runs this end to end
 *   trainyard run examples/flight-delays/pipeline.ts --profile dev
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { readdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pipeline, type Dataset } from "trainyard";
import { drift, enforceContract, ingest, profile, splitDataset } from "trainyard/data";
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

const landingDir = (landing: string) => resolve(import.meta.dirname, landing);
const partitionFiles = (landing: string) =>
  readdirSync(landingDir(landing))
    .filter((f) => /^flights-\d{4}-\d{2}\.parquet$/.test(f))
    .sort()
    .map((f) => join(landingDir(landing), f));

async function duck<T>(fn: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
  }
}
const q = (path: string) => `'${path.replaceAll("'", "''")}'`;

/**
 * The partitions present in the landing folder. Their content digests (from the stat index, so
 * unchanged files are not re-read) are this step's sources: a newly landed month reruns it.
 */
const partitions = p.step("partitions", {
  description: "list the monthly partitions that have landed",
  params: ["landing"],
  sources: (params) => partitionFiles(params.landing),
  run: async (ctx) => {
    const files = partitionFiles(ctx.params.landing);
    if (!files.length) throw new Error(`no partitions in ${landingDir(ctx.params.landing)}: run node examples/flight-delays/land-data.mjs first`);
    const out = [];
    for (const path of files) out.push({ month: basename(path).slice(8, 15), path, digest: await ctx.digestFile(path) });
    return out;
  },
});

/** Each month is ingested and checked against the contract on its own, cached on its digest. */
const months = p.map("ingest-month", {
  description: "ingest a monthly partition and check it against the data contract",
  over: partitions,
  run: async (ctx, part) => {
    const out = join(ctx.workdir, "month.parquet");
    const result = await ingest({ path: part.path, format: "parquet" }, out);
    const data = ctx.dataset(out, { format: "parquet", rows: result.rows, schema: result.schema, summary: result.summary, source: part.path, month: part.month });
    await enforceContract(ctx, { ...data, path: out }, flightContract);
    ctx.log(`${part.month}: ${result.rows} rows`);
    return data;
  },
});

/** Per-month summary for the report; cached per month like the ingestion. */
const summaries = p.map("summarize-month", {
  description: "per-month flight counts and delay statistics",
  over: months,
  params: ["delayThreshold"],
  run: (ctx, month) =>
    duck(async (sql) => {
      const [row] = await sql(`SELECT count(*)::INTEGER AS flights, avg(delay)::DOUBLE AS mean_delay,
        avg(CASE WHEN delay > ${ctx.params.delayThreshold} THEN 1 ELSE 0 END)::DOUBLE AS delayed_share,
        count(DISTINCT origin)::INTEGER AS airports FROM read_parquet(${q(month.path)})`);
      return { month: String(month.meta.month), ...(row as { flights: number; mean_delay: number; delayed_share: number; airports: number }) };
    }),
});

/** All months in one dataset with the label; the newest month is held out for evaluation. */
const split = p.step("split", {
  description: "label delays and hold out the newest month",
  inputs: { months },
  params: ["delayThreshold", "trainSample", "evalSample"],
  run: async (ctx, { months }) => {
    if (months.length < 2) throw new Error(`need at least two months of data to train and evaluate, found ${months.length}: land more partitions`);
    const all = join(ctx.workdir, "all.parquet");
    const newest = String(months[months.length - 1].meta.month);
    await duck((sql) =>
      sql(`COPY (SELECT date, distance, origin, destination, delay,
                  CAST(delay > ${ctx.params.delayThreshold} AS INTEGER) AS delayed
                FROM read_parquet([${months.map((m) => q(m.path)).join(", ")}])
                WHERE delay IS NOT NULL)
           TO ${q(all)} (FORMAT parquet)`),
    );
    const parts = await splitDataset({ path: all, format: "parquet" }, { method: "time", column: "date", cutoff: `${newest}-01 00:00:00` }, ctx.workdir);
    const sample = async (path: string, fraction: number, name: string) => {
      if (fraction >= 1) return { path, rows: -1 };
      const out = join(ctx.workdir, name);
      const [row] = await duck(async (sql) => {
        await sql(`COPY (SELECT * FROM read_parquet(${q(path)}) USING SAMPLE ${fraction * 100} PERCENT (bernoulli, 42)) TO ${q(out)} (FORMAT parquet)`);
        return sql(`SELECT count(*)::INTEGER AS n FROM read_parquet(${q(out)})`);
      });
      return { path: out, rows: Number(row.n) };
    };
    const trainPart = await sample(parts.train.path, ctx.params.trainSample, "train-sample.parquet");
    const testPart = await sample(parts.test.path, ctx.params.evalSample, "test-sample.parquet");
    const trainRows = trainPart.rows < 0 ? parts.train.rows : trainPart.rows;
    const testRows = testPart.rows < 0 ? parts.test.rows : testPart.rows;
    ctx.log(`train ${trainRows} rows (months before ${newest}), test ${testRows} rows (${newest})`);
    return {
      train: ctx.dataset(trainPart.path, { format: "parquet", rows: trainRows, months: months.slice(0, -1).map((m) => m.meta.month) }),
      test: ctx.dataset(testPart.path, { format: "parquet", rows: testRows, months: [newest] }),
    };
  },
});
const trainData = split.pick("train");
const testData = split.pick("test");

/** Reference statistics of the training data, kept with the model; drift of the newest month. */
const reference = profile(p, "profile", { data: trainData, columns: ["date", "delay", "distance", "origin", "destination"] });
drift(p, "drift", {
  reference: trainData,
  current: testData,
  config: {
    include: ["delay", "distance", "origin", "destination"],
    defaults: { psi: { threshold: 0.2, action: "warn" }, lInfinity: { threshold: 0.1, action: "warn" }, jsDistance: { threshold: 0.1, action: "warn" } },
    schema: { added: "warn", removed: "fail", retyped: "fail" },
  },
});

const featureSpec = {
  transforms: [
    { kind: "datepart", column: "date", parts: ["hour", "day_of_week"] },
    { kind: "passthrough", column: "distance" },
    { kind: "ordinal", column: "origin" },
    { kind: "ordinal", column: "destination" },
  ],
} as const;
const fitted = features(p, "features", { train: trainData, spec: { transforms: [...featureSpec.transforms] as never } });

/** A small search on a sample of the training months; each trial is cached on its own. */
const searchData = p.step("search-data", {
  description: "sample the training months for the hyperparameter search",
  inputs: { train: trainData },
  params: ["searchRows"],
  run: async (ctx, { train }) => {
    const parts = await splitDataset(
      { sql: `SELECT * FROM read_parquet(${q(train.path)}) USING SAMPLE ${ctx.params.searchRows} ROWS (reservoir, 7)` },
      { method: "random", testFraction: 0.25, seed: 7 },
      ctx.workdir,
    );
    return { train: ctx.dataset(parts.train.path, { format: "parquet", rows: parts.train.rows }), valid: ctx.dataset(parts.test.path, { format: "parquet", rows: parts.test.rows }) };
  },
});
const tuned = search(p, "search", {
  train: searchData.pick("train"),
  valid: searchData.pick("valid"),
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
  algorithm: { kind: "gbdt", numRounds: 100, maxDepth: 6, learningRate: 0.1, maxBin: 256, seed: 1 },
  tuned: hyperparameters,
  timeout: "20m",
});

const production = currentModel(p, "production", { name: MODEL, candidate });
const evaluation = evaluate(p, "evaluate", {
  candidate,
  production,
  data: testData,
  slices: [{ column: "origin", top: 10 }],
  fairness: [{ metric: "tpr", column: "origin", topGroups: 10, threshold: 0.3 }],
  bootstrap: { metrics: ["auc"], resamples: 200, seed: 1 },
  latency: { samples: 500 },
});

const checked = gates(p, "gates", {
  evaluation,
  params: ["aucFloor", "maxTprGap", "maxP99Ms"],
  gates: (params) => [
    { kind: "metric", metric: "auc", min: params.aucFloor, name: "auc floor" },
    { kind: "relative", metric: "auc", maxRegression: 0.002, name: "no auc regression vs production" },
    { kind: "significance", metric: "auc", require: "not-worse", margin: 0.002, name: "not worse than production (bootstrap)" },
    { kind: "fairness", metric: "tpr", column: "origin", maxGap: params.maxTprGap, name: "tpr gap across the 10 busiest origins" },
    { kind: "latency", p99Ms: params.maxP99Ms, name: "p99 latency" },
    { kind: "size", maxBytes: 20_000_000, name: "model size" },
  ],
});

const registered = register(p, "register", { name: MODEL, model: candidate, gates: checked, evaluation, data: trainData, reference: reference.pick("profile") });
deploy(p, "deploy", { registered, alias: "production" });

/** A small HTML report over all months. */
p.step("report", {
  description: "monthly summary report",
  inputs: { summaries, evaluation },
  run: (ctx, { summaries, evaluation }) => {
    const rows = summaries
      .map((m) => `<tr><td>${m.month}</td><td>${m.flights.toLocaleString("en-US")}</td><td>${m.mean_delay.toFixed(2)}</td><td>${(100 * m.delayed_share).toFixed(1)}%</td><td>${m.airports}</td></tr>`)
      .join("\n");
    const auc = evaluation.evaluation.candidate.metrics.auc;
    writeFileSync(
      join(ctx.workdir, "report.html"),
      `<!doctype html><meta charset="utf-8"><title>flight-delays</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:4px 10px;text-align:right}</style>
<h1>Flights per month</h1><p>candidate ROC AUC on the newest month: ${auc.toFixed(4)}</p>
<table><tr><th>month</th><th>flights</th><th>mean delay</th><th>delayed</th><th>airports</th></tr>
${rows}</table>`,
    );
    return { report: ctx.file("report.html", { contentType: "text/html" }), months: summaries.length, auc };
  },
});

export default p;
