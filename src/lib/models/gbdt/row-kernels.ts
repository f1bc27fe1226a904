/**
 * The per-row loops of histogram boosting that do not depend on the feature count; the ones that
 * do (gradients + root histogram, per-level split + histogram) are generated in kernel-codegen.ts.
 * Every kernel works on a row range [start, end) so the same code runs on the main thread and, via
 * `Function.prototype.toString`, inside worker threads over shared memory. Hence the rules for
 * this file: kernels are self-contained (no imports, no closures, no nested functions, no default
 * parameters), take typed arrays only, and allocate nothing.
 *
 * Node table layout (Int32Array, NODE_FIELDS ints per tree node):
 *   [feature (-1 = no pending split), bin, missingLeftBin, 0, left, right (= left + 1), histSlot, 0]
 * A row in a node with a pending split goes right when `bin > node.bin && bin !== missingLeftBin`;
 * missingLeftBin is the feature's missing-value bin when missing values go left, else -1. Both
 * tests are done with integer arithmetic (no data-dependent branches, which mispredict half the
 * time on this kind of data): `right = ((thr - b) >>> 31) & ((x | -x) >>> 31)` with x = b ^ mlb.
 *
 * Histogram layout (Float64Array): slot * slotStride + feature * binStride + 2 * bin -> (sum g, sum h).
 */
export const NODE_FIELDS = 8;

/**
 * exp(x) for the logistic gradient without calling Math.exp (a C++ call from V8 that costs
 * ~20 ns, which was half of the gradient pass): x = k ln2/64 + r, exp(x) = 2^(k >> 6) 2^((k & 63)/64)
 * e^r with |r| <= ln2/128 and a degree-5 Taylor polynomial (truncation < 4e-17 relative, evaluated
 * in Estrin's form: half the dependency chain of Horner's), so the result is within a few ulps of
 * Math.exp. Gradients are stored as float32, where that difference vanishes. x is clamped to
 * +-EXP_CLAMP, far beyond where the float32 gradient saturates.
 *
 * Table: EXP_TABLE_FRAC entries 2^(j/64), then 2^q for q in [-EXP_TABLE_Q, EXP_TABLE_Q].
 */
export const EXP_CLAMP = 120;
export const EXP_TABLE_FRAC = 64;
export const EXP_TABLE_Q = 192;
export const EXP_INV_STEP = 64 / Math.LN2;
/** ln2/64 split so that k * EXP_STEP_HI is exact for |k| < 2^29. */
export const EXP_STEP_HI = Math.fround(Math.LN2 / 64);
export const EXP_STEP_LO = Math.LN2 / 64 - EXP_STEP_HI;

/**
 * Adding and subtracting 1.5 * 2^52 rounds a double of magnitude < 2^51 to an integer (ties to even); Math.round is a
 * slow call in V8.
 */
const ROUND_MAGIC = 6755399441055744;

export function expTable(): Float64Array {
  const t = new Float64Array(EXP_TABLE_FRAC + 2 * EXP_TABLE_Q + 1);
  for (let j = 0; j < EXP_TABLE_FRAC; j++) t[j] = Math.pow(2, j / EXP_TABLE_FRAC);
  for (let q = -EXP_TABLE_Q; q <= EXP_TABLE_Q; q++) t[EXP_TABLE_FRAC + EXP_TABLE_Q + q] = Math.pow(2, q);
  return t;
}

/**
 * Source of a statement block computing `const <out> = exp(<x>)` (x a plain identifier) with
 * the table in scope as `expTab`. Shared by the generated kernels and `fastExp` below.
 */
export function expSource(x: string, out: string): string {
  const [r, r2] = [`${out}_r`, `${out}_r2`];
  // exp(r) for the small remainder r, by its Taylor polynomial to r^5.
  const polynomial = `((1 + ${r}) + ${r2} * (0.5 + ${r} * ${1 / 6}) + ${r2} * ${r2} * (${1 / 24} + ${r} * ${1 / 120}))`;
  return `const ${out}_x = ${x} < ${-EXP_CLAMP} ? ${-EXP_CLAMP} : ${x} > ${EXP_CLAMP} ? ${EXP_CLAMP} : ${x};
      const ${out}_kd = ${out}_x * ${EXP_INV_STEP} + ${ROUND_MAGIC} - ${ROUND_MAGIC};
      const ${out}_k = ${out}_kd | 0;
      const ${out}_r = ${out}_x - ${out}_kd * ${EXP_STEP_HI} - ${out}_kd * ${EXP_STEP_LO};
      const ${out}_r2 = ${out}_r * ${out}_r;
      const ${out} = expTab[${EXP_TABLE_FRAC + EXP_TABLE_Q} + (${out}_k >> 6)] * expTab[${out}_k & 63] *
        ${polynomial};`;
}

/** The kernels' exp as an ordinary function (tests compare it with Math.exp). */
export const fastExp = new Function("expTab", "v", `${expSource("v", "e")}\nreturn e;`) as (
  expTab: Float64Array,
  v: number,
) => number;

/**
 * Adds a finished tree's leaf values to the margins of output `k` and resets positions. Rows whose
 * node still has a pending split (the tree's last level is never partitioned on its own) take it here.
 */
export function kernelApplyLeaves(
  pred: Float64Array,
  predOffset: number,
  pos: Int32Array,
  nodes: Int32Array,
  leafValue: Float64Array,
  bins: Uint8Array,
  rowStride: number,
  start: number,
  end: number,
): void {
  for (let r = start; r < end; r++) {
    let n = pos[r];
    const t = n << 3;
    const f = nodes[t];
    if (f >= 0) {
      const b = bins[r * rowStride + f];
      const x = b ^ nodes[t + 2];
      n = nodes[t + 4] + (((nodes[t + 1] - b) >>> 31) & ((x | -x) >>> 31));
    }
    pred[predOffset + r] += leafValue[n];
    pos[r] = 0;
  }
}

/** Softmax gradients for all classes; class-major (g, h) pairs (`2 * (k * rows + r)`). */
export function kernelSoftmaxGradients(
  numClasses: number,
  rows: number,
  label: Float64Array,
  pred: Float64Array,
  gh: Float32Array,
  mask: Uint8Array,
  useMask: number,
  start: number,
  end: number,
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
        gh[2 * i] = 0;
        gh[2 * i + 1] = 0;
        continue;
      }
      const p = Math.exp(pred[i] - max) / sum;
      gh[2 * i] = p - (y === k ? 1 : 0);
      gh[2 * i + 1] = Math.max(2 * p * (1 - p), 1e-16);
    }
  }
}
