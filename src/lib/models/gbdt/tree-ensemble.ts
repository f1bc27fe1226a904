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

export function buildEnsemble(trees: TreeNodes[], outputs: number, baseMargin: number[], float32: boolean): TreeEnsemble {
  const total = trees.reduce((s, t) => s + t.feature.length, 0);
  const e: TreeEnsemble = {
    outputs, baseMargin, float32,
    roots: new Int32Array(trees.length), treeOutput: new Int32Array(trees.length),
    feature: new Int32Array(total), threshold: new Float64Array(total), left: new Int32Array(total),
    right: new Int32Array(total), missing: new Int32Array(total), value: new Float64Array(total),
    depth: new Int32Array(trees.length), walkFeature: new Int32Array(total), walkThreshold: new Float64Array(total),
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
    throw new ModelError("INVALID_MODEL_JSON", `trees have ${total - at} unreachable nodes`, { hint: "the model file is corrupt" });
  }
  return e;
}

const ROW_BLOCK = 512;

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

/**
 * Adds trees [from, to) to class-major margins `out`. Scoring is latency-bound (each level waits
 * for the previous node), so the fast path walks four rows at once for exactly `depth` steps with
 * leaves as fixed points: four independent chains keep the CPU busy and there is no leaf test.
 */
export function addTrees(e: TreeEnsemble, cols: Float64Array[], rows: number, from: number, to: number, out: Float64Array): void {
  const { walkFeature: wf, walkThreshold: wt, left, value, roots, treeOutput, depth } = e;
  if (from >= to) return;
  const nf = cols.length;
  // Row-major copy of a block of rows: one array and a small stride instead of cols[f][r].
  const block = new Float64Array(ROW_BLOCK * nf);
  for (let b = 0; b < rows; b += ROW_BLOCK) {
    const end = Math.min(rows, b + ROW_BLOCK);
    let finite = true;
    for (let f = 0; f < nf; f++) {
      const col = cols[f];
      for (let r = b, p = f; r < end; r++, p += nf) {
        const x = col[r];
        if (x - x !== 0) finite = false; // NaN or infinite
        block[p] = x;
      }
    }
    if (!finite) {
      addTreesWithMissing(e, block, nf, b, end, rows, from, to, out);
      continue;
    }
    for (let t = from; t < to; t++) {
      scoreBlock(left, wf, wt, value, block, nf, roots[t], depth[t], out, treeOutput[t] * rows + b, end - b);
    }
  }
}

/** One tree over one block of finite rows; a separate small function so V8 optimizes it as a whole. */
function scoreBlock(
  left: Int32Array, wf: Int32Array, wt: Float64Array, value: Float64Array, block: Float64Array, nf: number,
  root: number, steps: number, out: Float64Array, outAt: number, count: number,
): void {
  const stride = 4 * nf;
  let r = 0;
  let o = 0;
  for (; r + 3 < count; r += 4, o += stride) {
    let n0 = root, n1 = root, n2 = root, n3 = root;
    const o1 = o + nf, o2 = o1 + nf, o3 = o2 + nf;
    for (let d = 0; d < steps; d++) {
      // The right child is left + 1 (see buildEnsemble), so the comparison picks the child.
      n0 = left[n0] + +(block[o + wf[n0]] >= wt[n0]);
      n1 = left[n1] + +(block[o1 + wf[n1]] >= wt[n1]);
      n2 = left[n2] + +(block[o2 + wf[n2]] >= wt[n2]);
      n3 = left[n3] + +(block[o3 + wf[n3]] >= wt[n3]);
    }
    out[outAt + r] += value[n0];
    out[outAt + r + 1] += value[n1];
    out[outAt + r + 2] += value[n2];
    out[outAt + r + 3] += value[n3];
  }
  for (; r < count; r++, o += nf) {
    let n = root;
    for (let d = 0; d < steps; d++) n = left[n] + +(block[o + wf[n]] >= wt[n]);
    out[outAt + r] += value[n];
  }
}

/** Slow path for blocks with NaN (or infinite) values: one row at a time, honouring default directions. */
function addTreesWithMissing(
  e: TreeEnsemble, block: Float64Array, nf: number, b: number, end: number, rows: number, from: number, to: number, out: Float64Array,
): void {
  const { feature, threshold, left, missing, value, roots, treeOutput } = e;
  for (let t = from; t < to; t++) {
    const root = roots[t];
    const off = treeOutput[t] * rows;
    for (let r = b, o = 0; r < end; r++, o += nf) {
      let n = root;
      let f = feature[n];
      while (f >= 0) {
        const x = block[o + f];
        // NaN fails both comparisons and takes the default child.
        n = x < threshold[n] ? left[n] : x >= threshold[n] ? left[n] + 1 : missing[n];
        f = feature[n];
      }
      out[off + r] += value[n];
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
