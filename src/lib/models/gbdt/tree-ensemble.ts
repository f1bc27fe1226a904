import { ModelError } from "../model-error.js";
import { kernelScoreRows } from "./predict-kernels.js";

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
  /** Depth of each tree (edges from root to its deepest leaf). */
  depth: Int32Array;
  /** Like `feature` and `threshold`, but a leaf reads feature 0 against +Infinity and so stays put. */
  walkFeature: Int32Array;
  walkThreshold: Float64Array;
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

export function buildEnsemble(
  trees: TreeNodes[],
  outputs: number,
  baseMargin: number[],
  float32: boolean,
): TreeEnsemble {
  const total = trees.reduce((s, t) => s + t.feature.length, 0);
  const e: TreeEnsemble = {
    outputs,
    baseMargin,
    float32,
    roots: new Int32Array(trees.length),
    treeOutput: new Int32Array(trees.length),
    feature: new Int32Array(total),
    threshold: new Float64Array(total),
    left: new Int32Array(total),
    right: new Int32Array(total),
    missing: new Int32Array(total),
    value: new Float64Array(total),
    depth: new Int32Array(trees.length),
    walkFeature: new Int32Array(total),
    walkThreshold: new Float64Array(total),
  };
  let at = 0;
  trees.forEach((t, ti) => {
    e.roots[ti] = at;
    e.treeOutput[ti] = t.output;
    // Breadth-first renumbering puts every right child right after its left sibling, which the
    // branch-free walk in addTrees relies on (right = left + 1).
    const order = [0];
    const slot = new Map<number, number>([[0, at]]);
    const level = new Map<number, number>([[0, 0]]);
    let next = at + 1;
    for (let q = 0; q < order.length; q++) {
      const i = order[q];
      if (t.left[i] < 0) continue;
      slot.set(t.left[i], next++);
      slot.set(t.right[i], next++);
      order.push(t.left[i], t.right[i]);
      const d = level.get(i)! + 1;
      level.set(t.left[i], d);
      level.set(t.right[i], d);
      if (d > e.depth[ti]) e.depth[ti] = d;
    }
    for (const i of order) {
      const n = slot.get(i)!;
      const leaf = t.left[i] < 0;
      e.feature[n] = leaf ? -1 : t.feature[i];
      e.threshold[n] = t.threshold[i];
      e.left[n] = leaf ? n : slot.get(t.left[i])!;
      e.right[n] = leaf ? n : slot.get(t.right[i])!;
      e.missing[n] = t.defaultLeft[i] ? e.left[n] : e.right[n];
      e.value[n] = t.value[i];
      e.walkFeature[n] = leaf ? 0 : t.feature[i];
      e.walkThreshold[n] = leaf ? Infinity : t.threshold[i];
    }
    at = next;
  });
  if (at !== total) {
    throw new ModelError("INVALID_MODEL_JSON", `trees have ${total - at} unreachable nodes`, {
      hint: "the model file is corrupt",
    });
  }
  return e;
}

/** Rows per scoring block: 512 rows of a few features stay in L1 while every tree walks them. */
export const ROW_BLOCK = 512;

/** Features in the ensemble's comparison precision (float32 for XGBoost imports). */
export function scoringColumns(e: TreeEnsemble, columns: Float64Array[]): Float64Array[] {
  return e.float32 ? columns.map((c) => Float64Array.from(c, Math.fround)) : columns;
}

/** Raw margins, class-major (`k * rows + r`). */
export function predictMargins(
  e: TreeEnsemble,
  columns: Float64Array[],
  rows: number,
  trees = e.roots.length,
): Float64Array {
  const out = new Float64Array(rows * e.outputs);
  fillBaseMargins(e, out, rows);
  addTrees(e, scoringColumns(e, columns), rows, 0, trees, out);
  return out;
}

export function fillBaseMargins(e: TreeEnsemble, out: Float64Array, rows: number): void {
  for (let k = 0; k < e.outputs; k++) out.fill(e.baseMargin[k], k * rows, (k + 1) * rows);
}

/** Adds trees [from, to) to class-major margins `out` for all rows (see kernelScoreRows). */
export function addTrees(
  e: TreeEnsemble,
  cols: Float64Array[],
  rows: number,
  from: number,
  to: number,
  out: Float64Array,
): void {
  addTreesToRows(e, cols, rows, 0, rows, from, to, out, new Float64Array(ROW_BLOCK * Math.max(1, cols.length)));
}

/** Like addTrees, for rows [start, end) only; `block` is scratch of ROW_BLOCK * cols.length doubles. */
export function addTreesToRows(
  e: TreeEnsemble,
  cols: Float64Array[],
  rows: number,
  start: number,
  end: number,
  from: number,
  to: number,
  out: Float64Array,
  block: Float64Array,
): void {
  kernelScoreRows(
    e.roots,
    e.treeOutput,
    e.depth,
    e.walkFeature,
    e.walkThreshold,
    e.left,
    e.value,
    e.feature,
    e.threshold,
    e.missing,
    cols,
    rows,
    start,
    end,
    from,
    to,
    out,
    block,
  );
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
    const tree: TreeJson = {
      output: e.treeOutput[t],
      feature: [],
      threshold: [],
      defaultLeft: [],
      left: [],
      right: [],
      value: [],
    };
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

export function ensembleFromJson(
  trees: TreeJson[],
  outputs: number,
  baseMargin: number[],
  float32: boolean,
): TreeEnsemble {
  if (!Array.isArray(trees)) {
    throw new ModelError("INVALID_MODEL_JSON", "model JSON has no trees array", {
      hint: "pass the object produced by model.toJSON()",
    });
  }
  return buildEnsemble(
    trees.map((t) => ({
      output: t.output,
      feature: t.feature,
      left: t.left,
      right: t.right,
      value: t.value,
      threshold: t.threshold.map((v) => (v === null ? Infinity : v)),
      defaultLeft: t.defaultLeft.map((v) => v === 1),
    })),
    outputs,
    baseMargin,
    float32,
  );
}
