/**
 * `trainyard why <run> <step>`: the cache decision recorded for a step and, on a miss, exactly
 * which key component changed against the step's previous run.
 */
import { didYouMean } from "../core/did-you-mean.js";
import { TrainyardError } from "../core/errors.js";
import type { StepRunRecord } from "../store/metadata-store.js";
import { explainChange } from "./explain.js";
import { requireRun } from "./require-run.js";
import type { Trainyard } from "./trainyard.js";

export interface WhyResult {
  runId: string;
  step: string;
  decision: "cache hit" | "ran" | "skipped" | "cancelled" | "failed" | "not run";
  reasons: string[];
  /** The earlier step run this one was compared with, or reused. */
  against?: { runId: string; stepRunId: string };
  items?: Array<{ index: number; decision: string; reasons: string[] }>;
}

export async function explainStep(ty: Trainyard, runIdOrPrefix: string, stepId: string): Promise<WhyResult> {
  const run = await requireRun(ty.metadata, runIdOrPrefix, { where: ty.home });
  const all = await ty.metadata.listStepRuns(run.id);
  const sr = all.find((s) => s.stepId === stepId && s.itemIndex === -1);
  if (!sr) {
    // The steps the run planned (a run recorded before it kept them: those it reached).
    const known = run.steps ?? [...new Set(all.map((s) => s.stepId))];
    const planned = known.includes(stepId);
    const what = planned
      ? `has not decided step "${stepId}" yet`
      : `has no step "${stepId}"${didYouMean(stepId, known)}`;
    throw new TrainyardError("NOT_FOUND", `run ${run.id} ${what}`, {
      runId: run.id,
      step: stepId,
      hint: known.length ? `steps of this run: ${known.join(", ")}` : "this run recorded no steps",
    });
  }
  const base = await explainOne(ty, run.pipeline, run.createdAt, sr);
  const items = all.filter((s) => s.stepId === stepId && s.itemIndex >= 0);
  if (!items.length) return { runId: run.id, step: stepId, ...base };
  const detail: NonNullable<WhyResult["items"]> = [];
  for (const it of items) {
    const e = await explainOne(ty, run.pipeline, run.createdAt, it);
    detail.push({ index: it.itemIndex, decision: e.decision, reasons: e.reasons });
  }
  const ran = detail.filter((d) => d.decision === "ran").length;
  const reasons = [`${items.length} items: ${items.length - ran} reused from the cache, ${ran} ran`];
  return { runId: run.id, step: stepId, decision: ran ? "ran" : "cache hit", reasons, items: detail };
}

async function explainOne(
  ty: Trainyard,
  pipeline: string,
  createdAt: number,
  sr: StepRunRecord,
): Promise<Omit<WhyResult, "runId" | "step">> {
  if (sr.status === "skipped" || sr.status === "cancelled")
    return { decision: sr.status, reasons: [sr.reason ?? sr.status] };
  if (sr.cached && sr.cachedFrom) {
    const from = await ty.metadata.getStepRun(sr.cachedFrom);
    const finished = from?.finishedAt ? ` (finished ${new Date(from.finishedAt).toISOString()})` : "";
    return {
      decision: "cache hit",
      reasons: [
        `cache key ${sr.cacheKey?.slice(0, 12)} matched step run ${sr.cachedFrom}${finished}: same code, version, ` +
          `params and inputs, ` +
          `so its outputs were reused`,
      ],
      against: from ? { runId: from.runId, stepRunId: from.id } : undefined,
    };
  }
  if (!sr.components)
    return { decision: "not run", reasons: [sr.reason ?? "the step never started (its inputs were never available)"] };
  const decision = sr.status === "failed" ? "failed" : "ran";
  if (sr.reason?.startsWith("forced")) return { decision, reasons: [sr.reason] };
  if (sr.reason?.startsWith("caching is disabled")) return { decision, reasons: [sr.reason] };
  const prev = await ty.metadata.previousStepRun(pipeline, sr.stepId, sr.itemIndex, createdAt, sr.runId);
  if (!prev?.components)
    return { decision, reasons: [`cache miss: no earlier run of pipeline "${pipeline}" ran step "${sr.stepId}"`] };
  const diff = await explainChange(prev.components, sr.components, (d) => ty.metadata.getArtifact(d));
  const against = { runId: prev.runId, stepRunId: prev.id };
  if (diff.length) return { decision, reasons: diff.map((d) => `cache miss: ${d}`), against };
  if (prev.status === "failed")
    return {
      decision,
      reasons: [
        `cache miss: the previous run with the same key (run ${prev.runId}) failed, so there was nothing to reuse`,
      ],
      against,
    };
  return {
    decision,
    reasons: [`cache miss: run ${prev.runId} had the same key, but its outputs were no longer stored (removed by gc?)`],
    against,
  };
}
