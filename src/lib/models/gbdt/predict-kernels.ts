/**
 * The scoring loops of a tree ensemble. Like row-kernels.ts, these run both on the calling thread
 * and, via `Function.prototype.toString`, inside prediction worker threads (predict-pool.ts), so
 * parallel and sequential scoring execute the very same code. Rules for this file: functions are
 * self-contained (no imports, no module constants, no closures, no nested functions, no default
 * parameters), take typed arrays only, and allocate nothing.
 *
 * Every row's margin is `base + value(tree 0) + value(tree 1) + ...` in tree order, whichever path
 * (fast or missing-aware) and whichever row range or thread scores it, so partitioning rows never
 * changes a single bit of the result.
 *
 * Tree layout (see buildEnsemble): breadth-first, right child = left + 1, leaves are fixed points of
 * the walk (`walkFeature` 0, `walkThreshold` +Infinity, `left` = self).
 */

/**
 * Adds trees [from, to) to class-major margins `out` (`k * rows + r`) for rows [start, end) of the
 * column-major features `cols`. `block` is scratch of `blockRows * cols.length` doubles: rows are
 * copied into it row-major, a block at a time, so a block stays in L1 while every tree walks it.
 */
export function kernelScoreRows(
  roots: Int32Array,
  treeOutput: Int32Array,
  depth: Int32Array,
  wf: Int32Array,
  wt: Float64Array,
  left: Int32Array,
  value: Float64Array,
  feature: Int32Array,
  threshold: Float64Array,
  missing: Int32Array,
  cols: Float64Array[],
  rows: number,
  start: number,
  end: number,
  from: number,
  to: number,
  out: Float64Array,
  block: Float64Array,
): void {
  if (from >= to) return;
  const nf = cols.length;
  const blockRows = nf === 0 ? end - start : Math.floor(block.length / nf);
  for (let b = start; b < end; b += blockRows) {
    const stop = Math.min(end, b + blockRows);
    let finite = true;
    for (let f = 0; f < nf; f++) {
      const col = cols[f];
      for (let r = b, p = f; r < stop; r++, p += nf) {
        const x = col[r];
        if (x - x !== 0) finite = false; // NaN or infinite
        block[p] = x;
      }
    }
    if (!finite) {
      kernelScoreMissing(
        feature,
        threshold,
        left,
        missing,
        value,
        roots,
        treeOutput,
        block,
        nf,
        b,
        stop,
        rows,
        from,
        to,
        out,
      );
      continue;
    }
    let t = from;
    for (; t + 1 < to; t += 2) {
      const outAt = treeOutput[t] * rows + b;
      if (treeOutput[t + 1] !== treeOutput[t]) {
        // Multiclass: neighbouring trees add to different outputs; walk them one at a time.
        kernelScoreBlock(left, wf, wt, value, block, nf, roots[t], depth[t], out, outAt, stop - b);
        t--;
        continue;
      }
      const steps = depth[t] > depth[t + 1] ? depth[t] : depth[t + 1];
      kernelScoreBlockPair(left, wf, wt, value, block, nf, roots[t], roots[t + 1], steps, out, outAt, stop - b);
    }
    if (t < to)
      kernelScoreBlock(left, wf, wt, value, block, nf, roots[t], depth[t], out, treeOutput[t] * rows + b, stop - b);
  }
}

/**
 * One tree over one block of finite rows. Scoring is latency-bound (each level waits for the
 * previous node), so it walks four rows at once for exactly `steps` levels with leaves as fixed
 * points: four independent chains keep the CPU busy and there is no leaf test.
 */
export function kernelScoreBlock(
  left: Int32Array,
  wf: Int32Array,
  wt: Float64Array,
  value: Float64Array,
  block: Float64Array,
  nf: number,
  root: number,
  steps: number,
  out: Float64Array,
  outAt: number,
  count: number,
): void {
  const stride = 4 * nf;
  let r = 0;
  let o = 0;
  for (; r + 3 < count; r += 4, o += stride) {
    let n0 = root,
      n1 = root,
      n2 = root,
      n3 = root;
    const o1 = o + nf,
      o2 = o1 + nf,
      o3 = o2 + nf;
    for (let d = 0; d < steps; d++) {
      // The right child is left + 1, so the comparison picks the child.
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

/**
 * Two trees of the same output over one block of finite rows: eight independent chains (four rows
 * times two trees) instead of four, ~15% faster on V8. Walking `steps` = the deeper tree's depth is
 * harmless for the shallower one, whose leaves are fixed points. The margin is updated as
 * `(out + a) + b`, exactly what two `+=` in tree order give.
 */
export function kernelScoreBlockPair(
  left: Int32Array,
  wf: Int32Array,
  wt: Float64Array,
  value: Float64Array,
  block: Float64Array,
  nf: number,
  rootA: number,
  rootB: number,
  steps: number,
  out: Float64Array,
  outAt: number,
  count: number,
): void {
  const stride = 4 * nf;
  let r = 0;
  let o = 0;
  for (; r + 3 < count; r += 4, o += stride) {
    let a0 = rootA,
      a1 = rootA,
      a2 = rootA,
      a3 = rootA;
    let b0 = rootB,
      b1 = rootB,
      b2 = rootB,
      b3 = rootB;
    const o1 = o + nf,
      o2 = o1 + nf,
      o3 = o2 + nf;
    for (let d = 0; d < steps; d++) {
      a0 = left[a0] + +(block[o + wf[a0]] >= wt[a0]);
      a1 = left[a1] + +(block[o1 + wf[a1]] >= wt[a1]);
      a2 = left[a2] + +(block[o2 + wf[a2]] >= wt[a2]);
      a3 = left[a3] + +(block[o3 + wf[a3]] >= wt[a3]);
      b0 = left[b0] + +(block[o + wf[b0]] >= wt[b0]);
      b1 = left[b1] + +(block[o1 + wf[b1]] >= wt[b1]);
      b2 = left[b2] + +(block[o2 + wf[b2]] >= wt[b2]);
      b3 = left[b3] + +(block[o3 + wf[b3]] >= wt[b3]);
    }
    const i = outAt + r;
    out[i] = out[i] + value[a0] + value[b0];
    out[i + 1] = out[i + 1] + value[a1] + value[b1];
    out[i + 2] = out[i + 2] + value[a2] + value[b2];
    out[i + 3] = out[i + 3] + value[a3] + value[b3];
  }
  for (; r < count; r++, o += nf) {
    let a = rootA;
    let b = rootB;
    for (let d = 0; d < steps; d++) {
      a = left[a] + +(block[o + wf[a]] >= wt[a]);
      b = left[b] + +(block[o + wf[b]] >= wt[b]);
    }
    out[outAt + r] = out[outAt + r] + value[a] + value[b];
  }
}

/** Slow path for blocks with NaN (or infinite) values: one row at a time, honouring default directions. */
export function kernelScoreMissing(
  feature: Int32Array,
  threshold: Float64Array,
  left: Int32Array,
  missing: Int32Array,
  value: Float64Array,
  roots: Int32Array,
  treeOutput: Int32Array,
  block: Float64Array,
  nf: number,
  b: number,
  end: number,
  rows: number,
  from: number,
  to: number,
  out: Float64Array,
): void {
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

/** Source of the kernels above as function declarations, for worker threads. */
export function predictKernelSource(): string {
  return `${kernelScoreRows}\n${kernelScoreBlock}\n${kernelScoreBlockPair}\n${kernelScoreMissing}\n`;
}
