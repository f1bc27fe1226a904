import { ModelError } from "../model-error.js";

/**
 * A boosted tree ensemble in scoring form: every tree's nodes concatenated into flat typed arrays
 * with absolute child indices, so predicting is one tight loop with no objects per node. Trees
 * trained here and trees imported from XGBoost JSON both end up in this shape.
 *
 * Split semantics are XGBoost's: go left when `x < threshold`, and missing (NaN) goes to the
 * node's default child.
 */
export interface TreeEnsemble {
  /** Outputs per row: 1, or the number of classes for softmax. */
  outputs: number;
  /** Margin every row starts from, per output. */
  baseMargin: number[];
  /** Compare features as float32, as XGBoost does (it stores data and thresholds as float). */
  float32: boolean;
  /** First node of each tree. */
  roots: Int32Array;
  /** Output each tree adds to. */
  treeOutput: Int32Array;
  /** Split feature per node, -1 for a leaf. */
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Child taken by a missing value. */
  missing: Int32Array;
  /** Leaf value (learning rate already applied). */
  value: Float64Array;
}

/** One tree while it is being built or parsed; `left[i] < 0` marks a leaf (indices are local). */
export interface TreeNodes {
  output: number;
  feature: number[];
  threshold: number[];
  defaultLeft: boolean[];
  left: number[];
  right: number[];
  value: number[];
}

export function buildEnsemble(trees: TreeNodes[], outputs: number, baseMargin: number[], float32: boolean): TreeEnsemble {
  const total = trees.reduce((s, t) => s + t.feature.length, 0);
  const e: TreeEnsemble = {
    outputs, baseMargin, float32,
    roots: new Int32Array(trees.length), treeOutput: new Int32Array(trees.length),
    feature: new Int32Array(total), threshold: new Float64Array(total), left: new Int32Array(total),
    right: new Int32Array(total), missing: new Int32Array(total), value: new Float64Array(total),
  };
  let at = 0;
  trees.forEach((t, ti) => {
    e.roots[ti] = at;
    e.treeOutput[ti] = t.output;
    for (let i = 0; i < t.feature.length; i++) {
      const n = at + i;
      const leaf = t.left[i] < 0;
      e.feature[n] = leaf ? -1 : t.feature[i];
      e.threshold[n] = t.threshold[i];
      e.left[n] = leaf ? n : at + t.left[i];
      e.right[n] = leaf ? n : at + t.right[i];
      e.missing[n] = t.defaultLeft[i] ? e.left[n] : e.right[n];
      e.value[n] = t.value[i];
    }
    at += t.feature.length;
  });
  return e;
}

const ROW_BLOCK = 2048;

/**
 * Raw margins, class-major (`k * rows + r`). Rows are scored in blocks so a block's feature values
 * stay in cache while every tree walks them.
 */
export function predictMargins(e: TreeEnsemble, columns: Float64Array[], rows: number, trees = e.roots.length): Float64Array {
  const cols = e.float32 ? columns.map((c) => Float64Array.from(c, Math.fround)) : columns;
  const out = new Float64Array(rows * e.outputs);
  for (let k = 0; k < e.outputs; k++) out.fill(e.baseMargin[k], k * rows, (k + 1) * rows);
  addTrees(e, cols, rows, 0, trees, out);
  return out;
}

/** Adds trees [from, to) to class-major margins `out`. */
export function addTrees(e: TreeEnsemble, cols: Float64Array[], rows: number, from: number, to: number, out: Float64Array): void {
  const { feature, threshold, left, right, missing, value, roots, treeOutput } = e;
  for (let b = 0; b < rows; b += ROW_BLOCK) {
    const end = Math.min(rows, b + ROW_BLOCK);
    for (let t = from; t < to; t++) {
      const root = roots[t];
      const off = treeOutput[t] * rows;
      for (let r = b; r < end; r++) {
        let n = root;
        let f = feature[n];
        while (f >= 0) {
          const x = cols[f][r];
          // NaN fails both comparisons and takes the default child.
          n = x < threshold[n] ? left[n] : x >= threshold[n] ? right[n] : missing[n];
          f = feature[n];
        }
        out[off + r] += value[n];
      }
    }
  }
}

/** Serializable form of a tree ensemble (local node indices per tree, -1 children for leaves). */
export interface TreeJson {
  output: number;
  feature: number[];
  threshold: (number | null)[];
  defaultLeft: number[];
  left: number[];
  right: number[];
  value: number[];
}

export function ensembleToJson(e: TreeEnsemble): TreeJson[] {
  const out: TreeJson[] = [];
  for (let t = 0; t < e.roots.length; t++) {
    const from = e.roots[t];
    const to = t + 1 < e.roots.length ? e.roots[t + 1] : e.feature.length;
    const tree: TreeJson = { output: e.treeOutput[t], feature: [], threshold: [], defaultLeft: [], left: [], right: [], value: [] };
    for (let n = from; n < to; n++) {
      const leaf = e.feature[n] < 0;
      tree.feature.push(e.feature[n]);
      tree.threshold.push(Number.isFinite(e.threshold[n]) ? e.threshold[n] : null);
      tree.defaultLeft.push(!leaf && e.missing[n] === e.left[n] ? 1 : 0);
      tree.left.push(leaf ? -1 : e.left[n] - from);
      tree.right.push(leaf ? -1 : e.right[n] - from);
      tree.value.push(e.value[n]);
    }
    out.push(tree);
  }
  return out;
}

export function ensembleFromJson(trees: TreeJson[], outputs: number, baseMargin: number[], float32: boolean): TreeEnsemble {
  if (!Array.isArray(trees)) {
    throw new ModelError("INVALID_MODEL_JSON", "model JSON has no trees array", { hint: "pass the object produced by model.toJSON()" });
  }
  return buildEnsemble(
    trees.map((t) => ({
      output: t.output, feature: t.feature, left: t.left, right: t.right, value: t.value,
      threshold: t.threshold.map((v) => (v === null ? Infinity : v)),
      defaultLeft: t.defaultLeft.map((v) => v === 1),
    })),
    outputs, baseMargin, float32,
  );
}
