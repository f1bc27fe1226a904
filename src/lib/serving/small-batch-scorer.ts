/**
 * Scoring for serving-size batches (one request, or the few rows the server batches in one
 * event-loop turn). `GbdtModel.predict` allocates a 512-row scratch block per call, which for a
 * one-row request costs more than walking 100 trees (a fresh 20 KB typed array lives off-heap);
 * here the block is allocated once per predictor and reused. Same kernel, same base margins and
 * same margin transform, so the scores equal `model.predict(x)` bit for bit.
 */
import { alignToSignature, type FeatureMatrix } from "../models/feature-matrix.js";
import { GbdtModel, transformMargins } from "../models/gbdt/gbdt-model.js";
import { addTreesToRows, fillBaseMargins, ROW_BLOCK, scoringColumns } from "../models/gbdt/tree-ensemble.js";
import type { Model } from "../models/model.js";

/** `model.predict` of a synchronous model, without per-call scratch allocation for GBDT ensembles. */
export function smallBatchScorer(model: Model): (x: FeatureMatrix) => Float64Array {
  if (!(model instanceof GbdtModel)) return (x) => model.predict(x);
  const e = model.ensemble;
  const trees = e.roots.length;
  // Scoring is synchronous and single-threaded, so one block per predictor is never shared.
  const block = new Float64Array(ROW_BLOCK * Math.max(1, model.signature.features.length));
  return (x) => {
    const rows = x.rows;
    const out = new Float64Array(rows * e.outputs);
    fillBaseMargins(e, out, rows);
    addTreesToRows(e, scoringColumns(e, alignToSignature(x, model.signature)), rows, 0, rows, 0, trees, out, block);
    return transformMargins(model.objective, out, rows, model.numClasses);
  };
}
