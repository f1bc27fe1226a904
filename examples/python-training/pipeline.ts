/**
 * Training in Python, everything else in Trainyard: a team keeps its XGBoost training script
 * (train.py, run by Debian's /usr/bin/python3 with xgboost, scikit-learn and pandas) and lets
 * Trainyard ingest, split, cache, check, evaluate, gate, register and serve the model.
 *
 *   ingest penguins.json -> clean (+ contract) -> stratified split -> CSVs for Python
 *   -> train.py (command step) -> importModel (the XGBoost JSON as a model bundle), and a guard
 *   checking that Trainyard's native scoring agrees with XGBoost's own probabilities
 *   -> evaluate vs production -> gates (accuracy floor, no regression, latency, size)
 *   -> register -> deploy (penguins@production)
 *
 *   node bin/trainyard.js run examples/python-training/pipeline.ts
 *   node bin/trainyard.js run examples/python-training/pipeline.ts --param rounds=10
 *
 * Data: the Palmer penguins (344 birds, vega-datasets); predict the species (Adelie, Chinstrap,
 * Gentoo) from the four body measurements.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pipeline, TrainyardError } from "trainyard";
import { enforceContract, ingest, profile, splitDataset, type Contract } from "trainyard/data";
import { readRawColumns } from "trainyard/features";
import { currentModel, deploy, evaluate, gates, importModel, register } from "trainyard/models";
import { loadPredictor } from "trainyard/serving";
import { z } from "zod";

const MODEL = "penguins";
/** Debian's interpreter: the one with python3-xgboost, python3-sklearn and python3-pandas. */
const PYTHON = "/usr/bin/python3";
/** Largest allowed |native - XGBoost| of any class probability on any held-out row. */
const TOLERANCE = 1e-5;

/** The raw JSON's measurement columns and the names the model uses, in training order. */
const MEASUREMENTS = {
  beak_length_mm: "Beak Length (mm)",
  beak_depth_mm: "Beak Depth (mm)",
  flipper_length_mm: "Flipper Length (mm)",
  body_mass_g: "Body Mass (g)",
} as const;
const FEATURES = Object.keys(MEASUREMENTS) as (keyof typeof MEASUREMENTS)[];
const LABEL = "species";

// vega-datasets exports only build/index.js; its data/ folder sits beside build/.
const penguinsJson = join(
  dirname(createRequire(import.meta.url).resolve("vega-datasets")),
  "..",
  "data",
  "penguins.json",
);

const p = pipeline("python-training", {
  description: "penguin species classifier trained by an XGBoost script, served by Trainyard",
  params: z.object({
    /** Share of each species held out for evaluation. */
    testFraction: z.number().gt(0).lt(1).default(0.2),
    /** Seed of the stratified split. */
    splitSeed: z.number().int().default(42),
    /** XGBoost: boosting rounds (n_estimators). */
    rounds: z.number().int().positive().default(50),
    /** XGBoost: max_depth. */
    maxDepth: z.number().int().positive().default(3),
    /** XGBoost: learning_rate (eta). */
    learningRate: z.number().positive().max(1).default(0.2),
    /** XGBoost: random_state. */
    seed: z.number().int().default(0),
    /** Gate: the candidate's accuracy on the held-out penguins must reach this. */
    accuracyFloor: z.number().min(0).max(1).default(0.9),
    /** Gate: accuracy may fall below production's by at most this much. */
    maxAccuracyRegression: z.number().min(0).max(1).default(0.03),
    /** Gate: p99 single-row prediction latency through the serving code path, ms. */
    maxP99Ms: z.number().positive().default(50),
  }),
});

async function duck<T>(fn: (sql: (text: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    return await fn(async (text) => (await conn.runAndReadAll(text)).getRowObjectsJson() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
  }
}
const q = (path: string) => `'${path.replaceAll("'", "''")}'`;
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The cleaned penguins must look like this before anything trains on them. */
const penguinContract: Contract = {
  name: "penguins",
  columns: {
    species: { type: "string", nullable: false, allowedValues: ["Adelie", "Chinstrap", "Gentoo"] },
    beak_length_mm: { type: "float", nullable: false, min: 20, max: 80 },
    beak_depth_mm: { type: "float", nullable: false, min: 10, max: 30 },
    flipper_length_mm: { type: "float", nullable: false, min: 150, max: 250 },
    body_mass_g: { type: "float", nullable: false, min: 2000, max: 7000 },
  },
  table: { minRows: 300, allowExtraColumns: false },
};

/** The raw JSON as Parquet; cached on the file's content digest. */
const raw = p.step("ingest", {
  description: "read penguins.json (vega-datasets) into Parquet",
  sources: () => [penguinsJson],
  run: async (ctx) => {
    const out = join(ctx.workdir, "penguins-raw.parquet");
    const result = await ingest({ path: penguinsJson, format: "json" }, out);
    ctx.log(`${result.rows} penguins read from ${penguinsJson}`);
    return ctx.dataset(out, { format: "parquet", rows: result.rows, schema: result.schema, source: penguinsJson });
  },
});

/** Model-friendly column names, measurements as DOUBLE, rows with a missing value dropped. */
const cleaned = p.step("clean", {
  description: "rename the columns, drop rows with missing measurements, check the contract",
  inputs: { raw },
  run: async (ctx, { raw }) => {
    const out = join(ctx.workdir, "penguins.parquet");
    const cols = FEATURES.map((f) => `CAST(${ident(MEASUREMENTS[f])} AS DOUBLE) AS ${f}`).join(", ");
    const notNull = ["Species", ...Object.values(MEASUREMENTS)].map((c) => `${ident(c)} IS NOT NULL`).join(" AND ");
    const [row] = await duck(async (sql) => {
      await sql(
        `COPY (SELECT CAST("Species" ` +
          `AS VARCHAR) AS ${LABEL}, ${cols} FROM read_parquet(${q(raw.path)}) WHERE ${notNull}) ` +
          `TO ${q(out)} (FORMAT parquet)`,
      );
      return sql(`SELECT count(*)::INTEGER AS n FROM read_parquet(${q(out)})`);
    });
    const rows = Number(row.n);
    const data = ctx.dataset(out, { format: "parquet", rows });
    await enforceContract(ctx, { ...data, path: out }, penguinContract);
    ctx.log(`${rows} of ${raw.meta.rows ?? "?"} penguins have every measurement`);
    return data;
  },
});

/** A reproducible split: the same penguins land on the same side on every run. */
const split = p.step("split", {
  description: "stratified train/test split by species",
  inputs: { cleaned },
  params: ["testFraction", "splitSeed"],
  run: async (ctx, { cleaned }) => {
    const parts = await splitDataset(
      { path: cleaned.path, format: "parquet" },
      { method: "stratified", column: LABEL, testFraction: ctx.params.testFraction, seed: ctx.params.splitSeed },
      ctx.workdir,
    );
    ctx.log(`train ${parts.train.rows} rows, test ${parts.test.rows} rows`);
    return {
      train: ctx.dataset(parts.train.path, { format: "parquet", rows: parts.train.rows }),
      test: ctx.dataset(parts.test.path, { format: "parquet", rows: parts.test.rows }),
    };
  },
});
const trainData = split.pick("train");
const testData = split.pick("test");

/** Reference statistics of the training data, kept with the registered model. */
const reference = profile(p, "profile", { data: trainData, columns: [LABEL, ...FEATURES] });

/**
 * CSVs for Python (Debian's pandas has no pyarrow, so it cannot read Parquet): the feature
 * columns in model order, then `label`. Row order is the Parquet files' order.
 */
const csv = p.step("export-csv", {
  description: "write the split as CSV for the Python training script",
  inputs: { train: trainData, test: testData },
  run: async (ctx, { train, test }) => {
    const paths = { train: join(ctx.workdir, "train.csv"), test: join(ctx.workdir, "test.csv") };
    const select = `${FEATURES.join(", ")}, ${LABEL} AS label`;
    await duck(async (sql) => {
      await sql(
        `COPY (SELECT ${select} FROM read_parquet(${q(train.path)})) TO ${q(paths.train)} (FORMAT csv, HEADER true)`,
      );
      await sql(
        `COPY (SELECT ${select} FROM read_parquet(${q(test.path)})) TO ${q(paths.test)} (FORMAT csv, HEADER true)`,
      );
    });
    return {
      train: ctx.dataset(paths.train, { format: "csv", rows: train.meta.rows }),
      test: ctx.dataset(paths.test, { format: "csv", rows: test.meta.rows }),
    };
  },
});
const testCsv = csv.pick("test");

/**
 * The team's own training script. `files` puts train.py's content in the cache key (edit it and
 * this step reruns); the params it reads arrive as TRAINYARD_PARAMS and are keyed too.
 */
const trained = p.command("train", {
  description: "train XGBoost in Python (train.py)",
  inputs: { train: csv.pick("train"), test: testCsv },
  params: ["rounds", "maxDepth", "learningRate", "seed"],
  files: ["train.py"],
  timeout: "10m",
  run: () => {
    if (!existsSync(PYTHON)) {
      throw new TrainyardError(
        "PYTHON_MISSING",
        `step "train" needs ${PYTHON} (Debian's Python with xgboost) but it does not exist`,
        {
          step: "train",
          hint:
            "apt-get install python3 python3-xgboost python3-sklearn python3-pandas " +
            "(another python3 on PATH does not count: it lacks these packages)",
        },
      );
    }
    return [PYTHON, "train.py"];
  },
  outputs: {
    model: { path: "model.json", kind: "file" },
    metrics: { path: "metrics.json", kind: "file" },
  },
});

interface PythonMetrics {
  accuracy: number;
  log_loss: number;
  classes: string[];
  features: string[];
  xgboost: string;
  sample_rows?: number;
  sample_probabilities: number[][];
}

/** One call makes the XGBoost JSON a model bundle: its features in training order, classes from the training split. */
const candidate = importModel(p, "import", {
  format: "xgboost-json",
  model: trained.pick("model"),
  features: FEATURES,
  label: LABEL,
  data: trainData,
});

/**
 * A guard: nothing is registered unless Trainyard's native scoring reproduces XGBoost's own
 * probabilities on the very CSV rows Python scored.
 */
p.step("agreement", {
  description: "check the imported model scores like XGBoost",
  guard: true,
  inputs: { candidate, metrics: trained.pick("metrics"), testCsv },
  run: async (ctx, { candidate, metrics, testCsv }) => {
    const py = JSON.parse(readFileSync(metrics.path, "utf8")) as PythonMetrics;
    const mismatch = (what: string, hint: string) =>
      new TrainyardError("MODEL_MISMATCH", `step "agreement": ${what}`, { step: "agreement", hint });
    const predictor = await loadPredictor(candidate.path);
    if (JSON.stringify(predictor.classes) !== JSON.stringify(py.classes)) {
      throw mismatch(
        `train.py's classes ${JSON.stringify(py.classes)} differ from the ` +
          `training split's ${JSON.stringify(predictor.classes)}`,
        "train.py must index the classes as sorted(train.label.unique())",
      );
    }
    const raw = await readRawColumns({ path: testCsv.path, format: "csv" }, predictor.features);
    const native = await predictor.predictColumns(raw);
    const k = py.classes.length;
    const expected = py.sample_probabilities;
    if (!expected?.length || expected.length > raw.rows) {
      throw mismatch(
        `metrics.json has ${expected?.length ?? 0} sample probabilities for ${raw.rows} held-out rows`,
        "train.py must write predict_proba of the first held-out rows as sample_probabilities",
      );
    }
    let worst = { diff: 0, row: 0, cls: 0 };
    for (let i = 0; i < expected.length; i++) {
      for (let c = 0; c < k; c++) {
        const diff = Math.abs(native[i * k + c] - expected[i][c]);
        if (!(diff <= worst.diff)) worst = { diff, row: i, cls: c };
      }
    }
    if (!(worst.diff <= TOLERANCE)) {
      const { row, cls } = worst;
      const values = `XGBoost ${expected[row][cls]}, Trainyard ${native[row * k + cls]}`;
      throw mismatch(
        `Trainyard's native scoring ` +
          `disagrees ` +
          `with XGBoost ${py.xgboost}: held-out row ${row + 1}, class ${py.classes[cls]}: ${values} ` +
          `(|diff| ${worst.diff.toExponential(2)} > ${TOLERANCE})`,
        "check the feature order and class order train.py used, " +
          'and that the model was saved with booster.save_model("model.json")',
      );
    }
    ctx.log(
      `native scoring ` +
        `agrees with XGBoost ${py.xgboost} on ${expected.length} held-out rows x ${k} classes: ` +
        `max |diff| ${worst.diff.toExponential(2)} <= ${TOLERANCE}`,
    );
    return { rows: expected.length, classes: k, maxAbsDiff: worst.diff, tolerance: TOLERANCE, xgboost: py.xgboost };
  },
});

const production = currentModel(p, "production", { name: MODEL, candidate });
const evaluation = evaluate(p, "evaluate", { candidate, production, data: testData, latency: { samples: 200 } });

// Multiclass evaluation reports accuracy and log_loss (no bootstrap or fairness evidence), so
// the gates are metric, relative, latency and size gates.
const checked = gates(p, "gates", {
  evaluation,
  params: ["accuracyFloor", "maxAccuracyRegression", "maxP99Ms"],
  gates: (params) => [
    { kind: "metric", metric: "accuracy", min: params.accuracyFloor, name: "accuracy floor" },
    {
      kind: "relative",
      metric: "accuracy",
      maxRegression: params.maxAccuracyRegression,
      name: "no accuracy regression vs production",
    },
    { kind: "latency", p99Ms: params.maxP99Ms, name: "p99 latency" },
    { kind: "size", maxBytes: 5_000_000, name: "model size" },
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

export default p;
