/**
 * The data library's reports found in runs' step outputs: profiles ("trainyard.profile"), drift
 * results ("trainyard.drift") and contract checks ("trainyard.contract"), anywhere in a JSON
 * output. A report is named by (run, step, index), its index the order of a walk of the output.
 */
import { TrainyardError } from "../core/errors.js";
import type { MetadataStore, RunRecord, StepRunRecord } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import { requireRun } from "./require-run.js";

export type DataReportKind = "profile" | "drift" | "contract";

export interface DataReportSummary {
  kind: DataReportKind;
  runId: string;
  pipeline: string;
  step: string;
  index: number;
  digest: string;
  createdAt: number;
  summary: string;
  alert: boolean;
}

export interface DataReportQuery {
  pipeline?: string;
  kind?: DataReportKind;
  run?: string;
  /** Runs to look through, newest first. @default 20 */
  limit?: number;
}

interface Sources {
  metadata: MetadataStore;
  io: ArtifactIO;
}

const KINDS: Record<string, DataReportKind> = {
  "trainyard.profile": "profile",
  "trainyard.drift": "drift",
  "trainyard.contract": "contract",
};

export async function listDataReports(src: Sources, q: DataReportQuery): Promise<DataReportSummary[]> {
  const runs = q.run
    ? [await requireRun(src.metadata, q.run)]
    : await src.metadata.listRuns({ pipeline: q.pipeline, limit: q.limit ?? 20 });
  const out: DataReportSummary[] = [];
  for (const run of runs) {
    for (const s of await src.metadata.listStepRuns(run.id)) {
      for (const [index, report] of (await reportsOf(src, s)).entries()) {
        const summary = summarize(run, s, index, report);
        if (!q.kind || summary.kind === q.kind) out.push(summary);
      }
    }
  }
  return out;
}

export async function dataReport(
  src: Sources,
  runId: string,
  stepId: string,
  index: number,
): Promise<DataReportSummary & { report: Record<string, unknown> }> {
  const run = await requireRun(src.metadata, runId);
  const sr = await src.metadata.getStepRun(`${run.id}:${stepId}`);
  const report = sr ? (await reportsOf(src, sr))[index] : undefined;
  if (!sr || !report) {
    throw new TrainyardError("NOT_FOUND", `run ${run.id} step "${stepId}" has no data report #${index}`, {
      runId: run.id,
      step: stepId,
      hint: "list a run's reports with GET /api/v1/data/reports?run=<run>",
    });
  }
  return { ...summarize(run, sr, index, report), report };
}

async function reportsOf(src: Sources, s: StepRunRecord): Promise<Array<Record<string, unknown>>> {
  if (!s.outputDigest || s.itemIndex >= 0) return [];
  const art = await src.metadata.getArtifact(s.outputDigest);
  if (art?.kind !== "json") return [];
  const value = await src.io.load(s.outputDigest).catch(() => undefined);
  const found: Array<Record<string, unknown>> = [];
  const walk = (v: unknown, depth: number) => {
    if (!v || typeof v !== "object" || depth > 4) return;
    const kind = (v as { kind?: unknown }).kind;
    if (typeof kind === "string" && KINDS[kind]) found.push(v as Record<string, unknown>);
    else for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x, depth + 1);
  };
  walk(value, 0);
  return found;
}

function summarize(run: RunRecord, s: StepRunRecord, index: number, r: Record<string, unknown>): DataReportSummary {
  const kind = KINDS[String(r.kind)];
  const base = { kind, runId: run.id, pipeline: run.pipeline, step: s.stepId, index, digest: s.outputDigest! };
  const createdAt = s.finishedAt ?? run.createdAt;
  const columns = Array.isArray(r.columns) ? (r.columns as Array<Record<string, unknown>>) : [];
  if (kind === "profile") {
    const summary = `${r.rowCount ?? "?"} rows, ${columns.length} columns profiled`;
    return { ...base, createdAt, summary, alert: false };
  }
  if (kind === "drift") {
    const drifted = columns.filter((c) => c.verdict === "warn" || c.verdict === "fail").map((c) => String(c.name));
    const summary = drifted.length ? `drift in ${drifted.join(", ")}` : `no drift in ${columns.length} columns`;
    return { ...base, createdAt, summary, alert: drifted.length > 0 };
  }
  const violations = Array.isArray(r.violations) ? r.violations.length : 0;
  const summary = r.passed ? `contract passed on ${r.rowCount ?? "?"} rows` : `${violations} contract violation(s)`;
  return { ...base, createdAt, summary, alert: r.passed !== true };
}
