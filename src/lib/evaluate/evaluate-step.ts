/**
 * The evaluate step: scores the candidate and the current production model on the same held-out
 * rows in one step, and gathers every piece of evidence the gates decide on: metrics, metrics per
 * slice, a paired bootstrap of the difference, fairness gaps, latency through the serving code
 * path, and the model's size.
 */
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Dataset, FileArtifact, ModelArtifact, Pipeline, StepContext, StepOptions, StepRef } from "../../index.js";
import { queryRows, readColumns, toPlain, withConnection } from "../data/duck.js";
import { resolveSource } from "../data/data-source.js";
import { datasetSource } from "../data/steps/quality-steps.js";
import { readRawColumns } from "../features/read-raw-columns.js";
import type { GateEvidence } from "../gates/evaluate-gates.js";
import { loadPredictor, type Predictor } from "../serving/predictor.js";
import { ModelError } from "../models/model-error.js";
import { encodeLabel } from "../models/steps/label-task.js";
import { binaryReport, regressionReport } from "./metrics.js";
import { metricsBySlice, type SliceValue } from "./slice-metrics.js";
import { rocAuc } from "./ranking-metrics.js";
import { pairedPoissonBootstrap, type WeightedMetric } from "./weighted-bootstrap.js";
import { renderEvaluationHtml } from "./evaluation-html.js";
import { confusionMatrix, positiveRateOf, recallOf } from "./classification-metrics.js";
import { measureLatency, type LatencyMeasurement, type LatencyOptions } from "./latency.js";

/** The model currently behind an alias, as a registry step reports it (null before the first). */
export interface DeployedModel {
  name: string;
  alias: string;
  version: number;
  digest: string;
  path: string;
}

export interface EvaluateOptions extends Pick<StepOptions, "retry" | "timeout" | "isolate" | "version"> {
  candidate: StepRef<ModelArtifact>;
  production?: StepRef<DeployedModel | null>;
  data: StepRef<Dataset>;
  /** Columns to report metrics per group for (the largest `top` groups, 10 unless given). */
  slices?: Array<{ column: string; top?: number }>;
  /**
   * Rate gaps across the `topGroups` largest groups of `column` (10 unless given), for fairness gates; a row
   * counts as predicted positive when its score is at least `threshold` (0.5 unless given).
   */
  fairness?: Array<{ metric: "tpr" | "demographic_parity"; column: string; topGroups?: number; threshold?: number }>;
  /** Paired bootstrap of candidate - production. @default { metrics: ["auc"] or ["rmse"], resamples: 200 } */
  bootstrap?: { metrics?: WeightedMetric[]; resamples?: number; confidence?: number; seed?: number };
  /**
   * Single-row predictions timed through the serving path: a warm-up, then `rounds` rounds of
   * `samples` calls over up to `rows` test rows (cycled), the median round reported. The step
   * runs alone (no other step of the run beside it) unless `exclusive` is false.
   * @default { warmup: 1000, samples: 1000, rounds: 7, rows: 1000, exclusive: true }
   */
  latency?: LatencyOptions & { rows?: number; exclusive?: boolean };
}

export interface ModelScores {
  version?: number;
  metrics: Record<string, number>;
  report: unknown;
  slices: Record<string, SliceValue[]>;
}

export interface EvaluationReport extends GateEvidence {
  kind: "trainyard.evaluation";
  latency?: LatencyMeasurement;
  rows: number;
  task: string;
  candidate: ModelScores;
  production?: ModelScores;
}

const LIB_VERSION = "evaluate-step/2";

export function evaluate(
  p: Pipeline<any>,
  id: string,
  opts: EvaluateOptions,
): StepRef<{ evaluation: EvaluationReport; html: FileArtifact }> {
  const { candidate, production, data, slices = [], fairness = [], bootstrap, latency, ...options } = opts;
  const inputs = { candidate, data, ...(production ? { production } : {}) } as {
    candidate: StepRef<ModelArtifact>;
    data: StepRef<Dataset>;
    production?: StepRef<DeployedModel | null>;
  };
  return p.step(id, {
    description: "score candidate and production on the same held-out data",
    // Latency is measured with no other step of the run competing for the CPU.
    exclusive: latency?.exclusive ?? true,
    ...options,
    version: `${LIB_VERSION}${options.version ? `+${options.version}` : ""}`,
    inputs,
    config: { slices, fairness, bootstrap, latency: { ...latency, exclusive: undefined } },
    run: async (ctx, input) => {
      const held = input.data as Dataset;
      const cand = await loadPredictor((input.candidate as ModelArtifact).path);
      const deployed = (input.production ?? null) as DeployedModel | null;
      const prod = deployed ? await loadPredictor(deployed.path) : undefined;
      const source = datasetSource(held);
      const groupColumns = [...new Set([...slices.map((s) => s.column), ...fairness.map((f) => f.column)])];
      const cols = await readColumns(source, [cand.label, ...groupColumns]);
      const labelCol = cols.columns[cand.label];
      // Class labels as indices in the model's class order (text labels, or classes missing from these rows).
      const y =
        cand.task === "regression" || (labelCol.kind === "numeric" && cand.task === "binary")
          ? numericLabel(labelCol, cand.label)
          : encodeLabel(labelCol, cand.classes ?? []);
      const groups: Record<string, string[]> = {};
      for (const g of groupColumns) {
        const c = cols.columns[g];
        groups[g] =
          c.kind === "categorical"
            ? Array.from(c.codes, (k) => (k < 0 ? "(null)" : c.dictionary[k]))
            : Array.from(c.values, String);
      }
      const predCand = await cand.predictColumns(await readRawColumns(source, cand.features));
      const predProd = prod ? await prod.predictColumns(await readRawColumns(source, prod.features)) : undefined;
      const task = cand.task;
      const score = (pred: Float64Array): ModelScores => scoreModel(task, y, pred, groups, slices);
      const report: EvaluationReport = {
        kind: "trainyard.evaluation",
        rows: y.length,
        task,
        candidate: score(predCand),
      };
      if (predProd && deployed) report.production = { ...score(predProd), version: deployed.version };

      if (predProd && task !== "multiclass") {
        const metrics = bootstrap?.metrics ?? (task === "regression" ? ["rmse"] : ["auc"]);
        report.bootstrap = {};
        for (const m of metrics) {
          const ci = pairedPoissonBootstrap(y, predCand, predProd, m, {
            resamples: bootstrap?.resamples,
            confidence: bootstrap?.confidence,
            seed: bootstrap?.seed,
          });
          report.bootstrap[metricName(m)] = {
            low: ci.low,
            high: ci.high,
            mean: ci.mean,
            confidence: ci.confidence,
            samples: ci.samples,
          };
        }
      }
      if (fairness.length && task === "binary") {
        report.fairness = {};
        for (const f of fairness)
          report.fairness[`${f.metric}:${f.column}`] = groupRates(f, groups[f.column], y, predCand);
      }
      report.latency = await timeServingPath(cand, source, latency);
      report.sizeBytes = treeSize((input.candidate as ModelArtifact).path);
      recordEvaluationMetrics(ctx, report);
      ctx.log(
        `candidate ${JSON.stringify(pick(report.candidate.metrics))}${
          report.production
            ? `, production v${report.production.version} ${JSON.stringify(pick(report.production.metrics))}`
            : ", no production " + "model yet"
        }`,
      );
      const htmlPath = join(ctx.workdir, "evaluation.html");
      writeFileSync(htmlPath, renderEvaluationHtml(report));
      return { evaluation: report, html: ctx.file(htmlPath, { contentType: "text/html", report: "evaluation" }) };
    },
  });
}

function numericLabel(col: Awaited<ReturnType<typeof readColumns>>["columns"][string], label: string): Float64Array {
  if (col.kind === "numeric") return col.values;
  throw new ModelError(
    "INVALID_LABEL",
    `label "${label}" is text in the evaluation data, but the model predicts a number`,
    {
      column: label,
      hint: "evaluate on data whose label has the type the model was trained on",
    },
  );
}

function metricName(m: WeightedMetric): string {
  return m === "auc" ? "auc" : m;
}

function pick(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ["auc", "log_loss", "accuracy", "rmse", "r2"])
    if (m[k] !== undefined) out[k] = Number(m[k].toFixed(5));
  return out;
}

function scoreModel(
  task: string,
  y: Float64Array,
  pred: Float64Array,
  groups: Record<string, string[]>,
  slices: Array<{ column: string; top?: number }>,
): ModelScores {
  if (task === "regression") {
    const r = regressionReport(y, pred);
    const out: ModelScores = { metrics: { rmse: r.rmse, mae: r.mae, r2: r.r2, mape: r.mape }, report: r, slices: {} };
    for (const s of slices)
      out.slices[s.column] = topSlices(groups[s.column], y, pred, s.top ?? 10, (t, p) => regressionReport(t, p).rmse);
    return out;
  }
  if (task === "multiclass") {
    const k = pred.length / y.length;
    let correct = 0;
    let loss = 0;
    for (let i = 0; i < y.length; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (pred[i * k + c] > pred[i * k + best]) best = c;
      if (best === y[i]) correct++;
      loss -= Math.log(Math.max(1e-15, pred[i * k + y[i]]));
    }
    return { metrics: { accuracy: correct / y.length, log_loss: loss / y.length }, report: { classes: k }, slices: {} };
  }
  const r = binaryReport(y, pred);
  const out: ModelScores = {
    metrics: {
      auc: r.rocAuc,
      pr_auc: r.prAuc,
      log_loss: r.logLoss,
      brier: r.brier,
      accuracy: r.accuracy,
      precision: r.precision,
      recall: r.recall,
      f1: r.f1,
    },
    report: r,
    slices: {},
  };
  for (const s of slices) out.slices[s.column] = topSlices(groups[s.column], y, pred, s.top ?? 10, rocAuc);
  return out;
}

/** Rows of the `top` most frequent groups, then the metric per group. */
function topSlices(
  groups: string[],
  y: Float64Array,
  pred: Float64Array,
  top: number,
  metric: (t: ArrayLike<number>, p: ArrayLike<number>) => number,
): SliceValue[] {
  const keep = largestGroups(groups, top);
  const rows: number[] = [];
  for (let i = 0; i < groups.length; i++) if (keep.has(groups[i])) rows.push(i);
  const g = rows.map((i) => groups[i]);
  return metricsBySlice(
    g,
    Float64Array.from(rows, (i) => y[i]),
    Float64Array.from(rows, (i) => pred[i]),
    metric,
  ).sort((a, b) => b.rows - a.rows);
}

function largestGroups(groups: string[], top: number): Set<string> {
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g, (counts.get(g) ?? 0) + 1);
  return new Set(
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([g]) => g),
  );
}

function groupRates(
  f: { metric: "tpr" | "demographic_parity"; topGroups?: number; threshold?: number },
  groups: string[],
  y: Float64Array,
  pred: Float64Array,
) {
  const keep = largestGroups(groups, f.topGroups ?? 10);
  const out: Record<string, { rate: number; count: number }> = {};
  for (const g of keep) {
    const idx: number[] = [];
    for (let i = 0; i < groups.length; i++) if (groups[i] === g) idx.push(i);
    const m = confusionMatrix(
      Float64Array.from(idx, (i) => y[i]),
      Float64Array.from(idx, (i) => pred[i]),
      f.threshold ?? 0.5,
    );
    const rate = f.metric === "tpr" ? (m.tp + m.fn === 0 ? NaN : recallOf(m)) : positiveRateOf(m);
    if (!Number.isNaN(rate)) out[g] = { rate, count: idx.length };
  }
  const rates = Object.values(out).map((r) => r.rate);
  return { groups: out, gap: rates.length ? Math.max(...rates) - Math.min(...rates) : 0 };
}

/** p50/p99 of single-row predictRows calls on real rows: the code path the model server runs. */
async function timeServingPath(
  predictor: Predictor,
  source: ReturnType<typeof datasetSource>,
  opts: EvaluateOptions["latency"] = {},
): Promise<LatencyMeasurement> {
  const src = resolveSource(source);
  const fields = predictor.inputFields.map((f) => `"${f.name.replaceAll('"', '""')}"`).join(", ");
  const sample = Math.max(1, opts.rows ?? 1000);
  const sql = `SELECT ${fields} FROM ${src.relation} USING SAMPLE ${sample} ROWS (reservoir, 7)`;
  const rows = await withConnection((con) => queryRows(con, sql));
  const plain = rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const f of predictor.inputFields) {
      const v = toPlain(r[f.name]);
      out[f.name] = v instanceof Date ? v.toISOString() : typeof v === "bigint" ? Number(v) : v;
    }
    return out;
  });
  return measureLatency((row) => predictor.predictRows([row]), plain, opts);
}

function treeSize(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((s, name) => s + treeSize(join(path, name)), 0);
}

/**
 * The evaluation's figures as tracked metrics, as any step records them: the candidate's by
 * name, production's as `production.<name>`, and the serving latency.
 */
function recordEvaluationMetrics(ctx: StepContext<unknown>, report: EvaluationReport): void {
  const record = (name: string, value: number | undefined) => {
    // A metric that is undefined on this data (AUC of one class) is left out, not warned about.
    if (value !== undefined && Number.isFinite(value)) ctx.metric(name, value);
  };
  for (const [name, value] of Object.entries(report.candidate.metrics)) record(name, value);
  for (const [name, value] of Object.entries(report.production?.metrics ?? {})) record(`production.${name}`, value);
  record("latency_p50_ms", report.latency?.p50Ms);
  record("latency_p99_ms", report.latency?.p99Ms);
  if (report.production?.version !== undefined) ctx.tag("production_version", String(report.production.version));
}
