/**
 * The per-row loops of histogram boosting: every pass over the training rows lives here. Each
 * kernel works on a row range [start, end) so the same code runs on the main thread and, via
 * `Function.prototype.toString`, inside worker threads over shared memory. Hence the rules for
 * this file: kernels are self-contained (no imports, no closures, no nested functions, no default
 * parameters), take typed arrays only, and allocate nothing.
 *
 * Node table layout (Int32Array, NODE_FIELDS ints per tree node):
 *   [feature (-1 = not split this level), bin, missingBin, defaultLeft, left, right, histSlot, 0]
 * Histogram layout (Float64Array): slot * slotStride + feature * binStride + 2 * bin -> (sum g, sum h).
 */
export const NODE_FIELDS = 8;

/**
 * Fused pass for one-output objectives: add the previous tree's leaf values to the margins, compute
 * gradients (0 = logistic, 1 = squared error), reset row positions to the root and build the root
 * histogram. One pass instead of three, because passes over millions of rows dominate training.
 */
export function kernelGradientsAndRoot(
  objective: number, label: Float64Array, pred: Float64Array, grad: Float32Array, hess: Float32Array,
  pos: Int32Array, leafValue: Float64Array, applyTree: number, mask: Uint8Array, useMask: number,
  bins: Uint8Array, nFeatures: number, binStride: number, hist: Float64Array, start: number, end: number,
): void {
  hist.fill(0, 0, nFeatures * binStride);
  for (let r = start; r < end; r++) {
    let m = pred[r];
    if (applyTree === 1) {
      m += leafValue[pos[r]];
      pred[r] = m;
    }
    pos[r] = 0;
    let g = 0;
    let h = 0;
    if (useMask === 0 || mask[r] === 1) {
      if (objective === 0) {
        const p = 1 / (1 + Math.exp(-m));
        g = Math.fround(p - label[r]);
        h = Math.fround(Math.max(p * (1 - p), 1e-16));
      } else {
        g = Math.fround(m - label[r]);
        h = 1;
      }
    }
    grad[r] = g;
    hess[r] = h;
    const rb = r * nFeatures;
    for (let f = 0, base = 0; f < nFeatures; f++, base += binStride) {
      const i = base + 2 * bins[rb + f];
      hist[i] += g;
      hist[i + 1] += h;
    }
  }
}

/** Adds a finished tree's leaf values to the margins of output `k` and resets positions. */
export function kernelApplyLeaves(
  pred: Float64Array, predOffset: number, pos: Int32Array, leafValue: Float64Array, start: number, end: number,
): void {
  for (let r = start; r < end; r++) {
    pred[predOffset + r] += leafValue[pos[r]];
    pos[r] = 0;
  }
}

/** Softmax gradients for all classes; class-major arrays (`k * rows + r`). */
export function kernelSoftmaxGradients(
  numClasses: number, rows: number, label: Float64Array, pred: Float64Array, grad: Float32Array,
  hess: Float32Array, mask: Uint8Array, useMask: number, start: number, end: number,
): void {
  for (let r = start; r < end; r++) {
    const skip = useMask === 1 && mask[r] === 0;
    let max = -Infinity;
    for (let k = 0; k < numClasses; k++) if (pred[k * rows + r] > max) max = pred[k * rows + r];
    let sum = 0;
    for (let k = 0; k < numClasses; k++) sum += Math.exp(pred[k * rows + r] - max);
    const y = label[r];
    for (let k = 0; k < numClasses; k++) {
      const i = k * rows + r;
      if (skip) {
        grad[i] = 0;
        hess[i] = 0;
        continue;
      }
      const p = Math.exp(pred[i] - max) / sum;
      grad[i] = p - (y === k ? 1 : 0);
      hess[i] = Math.max(2 * p * (1 - p), 1e-16);
    }
  }
}

/** Root histogram of output `k` (gradients at `gradOffset`). */
export function kernelRootHistogram(
  bins: Uint8Array, nFeatures: number, binStride: number, grad: Float32Array, hess: Float32Array,
  gradOffset: number, hist: Float64Array, start: number, end: number,
): void {
  hist.fill(0, 0, nFeatures * binStride);
  for (let r = start; r < end; r++) {
    const g = grad[gradOffset + r];
    const h = hess[gradOffset + r];
    const rb = r * nFeatures;
    for (let f = 0, base = 0; f < nFeatures; f++, base += binStride) {
      const i = base + 2 * bins[rb + f];
      hist[i] += g;
      hist[i + 1] += h;
    }
  }
}

/**
 * One level of depth-wise growth: move every row of a node split at this level to its child and,
 * when the child has a histogram slot (it is the smaller sibling), accumulate its row into that
 * histogram. Sequential over rows (no row-index lists), so memory access stays streaming.
 */
export function kernelSplitLevel(
  bins: Uint8Array, nFeatures: number, binStride: number, slotStride: number, grad: Float32Array,
  hess: Float32Array, gradOffset: number, pos: Int32Array, nodes: Int32Array, hist: Float64Array,
  slots: number, start: number, end: number,
): void {
  hist.fill(0, 0, slots * slotStride);
  for (let r = start; r < end; r++) {
    const n = pos[r] * 8;
    const f = nodes[n];
    if (f < 0) continue;
    const rb = r * nFeatures;
    const b = bins[rb + f];
    const left = b === nodes[n + 2] ? nodes[n + 3] === 1 : b <= nodes[n + 1];
    const c = left ? nodes[n + 4] : nodes[n + 5];
    pos[r] = c;
    const slot = nodes[c * 8 + 6];
    if (slot < 0) continue;
    const g = grad[gradOffset + r];
    const h = hess[gradOffset + r];
    for (let j = 0, base = slot * slotStride; j < nFeatures; j++, base += binStride) {
      const i = base + 2 * bins[rb + j];
      hist[i] += g;
      hist[i + 1] += h;
    }
  }
}
