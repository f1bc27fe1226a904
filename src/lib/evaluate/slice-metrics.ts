import { confusionMatrix, positiveRateOf, recallOf } from "./classification-metrics.js";
import { MetricInputError } from "./metric-input.js";

/** A metric over aligned columns (labels, predictions, ...): the same signature every metric here has. */
export type Metric = (yTrue: ArrayLike<number>, yPred: ArrayLike<number>) => number;

export interface SliceValue {
  group: string;
  rows: number;
  value: number;
}

/**
 * Computes `metric` separately for each group value (e.g. origin airport, month), in first-seen
 * order. A slice where the metric is undefined (e.g. AUC with one class) gets NaN rather than
 * failing the whole evaluation.
 */
export function metricsBySlice(
  groups: ArrayLike<string | number>,
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  metric: Metric,
): SliceValue[] {
  if (groups.length !== yTrue.length || yPred.length !== yTrue.length) {
    throw new MetricInputError(
      `groups (${groups.length}), labels (${yTrue.length}) and predictions (${yPred.length}) differ in length`,
      "slice the same rows you evaluate",
    );
  }
  const rowsByGroup = new Map<string, number[]>();
  for (let i = 0; i < groups.length; i++) {
    const key = String(groups[i]);
    let list = rowsByGroup.get(key);
    if (!list) rowsByGroup.set(key, (list = []));
    list.push(i);
  }
  const out: SliceValue[] = [];
  for (const [group, rows] of rowsByGroup) {
    const t = Float64Array.from(rows, (i) => yTrue[i]);
    const p = Float64Array.from(rows, (i) => yPred[i]);
    let value: number;
    try {
      value = metric(t, p);
    } catch (error) {
      if (!(error instanceof MetricInputError)) throw error;
      value = NaN;
    }
    out.push({ group, rows: rows.length, value });
  }
  return out;
}

/** Largest minus smallest defined slice value. */
function spread(values: SliceValue[]): { gap: number; slices: SliceValue[] } {
  const defined = values.filter((v) => !Number.isNaN(v.value));
  if (defined.length === 0) return { gap: NaN, slices: values };
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of defined) {
    lo = Math.min(lo, v.value);
    hi = Math.max(hi, v.value);
  }
  return { gap: hi - lo, slices: values };
}

/**
 * Equal-opportunity gap: max - min true positive rate (recall) across groups at `threshold`.
 * Groups without positives are NaN and ignored.
 */
export function truePositiveRateGap(
  groups: ArrayLike<string | number>,
  yTrue: ArrayLike<number>,
  proba: ArrayLike<number>,
  threshold = 0.5,
) {
  return spread(
    metricsBySlice(groups, yTrue, proba, (t, p) => {
      const m = confusionMatrix(t, p, threshold);
      return m.tp + m.fn === 0 ? NaN : recallOf(m);
    }),
  );
}

/** Demographic parity difference: max - min share predicted positive across groups at `threshold`. */
export function demographicParityDifference(
  groups: ArrayLike<string | number>,
  yTrue: ArrayLike<number>,
  proba: ArrayLike<number>,
  threshold = 0.5,
) {
  return spread(metricsBySlice(groups, yTrue, proba, (t, p) => positiveRateOf(confusionMatrix(t, p, threshold))));
}
