import { expSource, kernelApplyLeaves, kernelSoftmaxGradients } from "./row-kernels.js";

/**
 * Builds the source of the row kernels with the feature count and histogram strides as constants
 * and the per-feature histogram loop unrolled. Measured on V8 (Node 20): with 5 features, the loop
 * `for (f < nFeatures)` costs ~35 ns per row and the unrolled form ~10 ns, because V8 neither
 * unrolls nor hoists the bounds checks of the short inner loop. Beyond MAX_UNROLLED features
 * (where code size would outweigh the gain) the same kernels are emitted with a loop instead.
 *
 * The source is compiled once on the main thread and once in each worker, so both run identical code.
 */
export const MAX_UNROLLED = 128;

/**
 * Rows per block of the gradient pass, which runs as three short loops per block (apply the last
 * tree, gradients, histogram) over data still in L1. One fused loop per row chains ~130 cycles of
 * dependent latency (table walk, exp, divide, histogram store) and the CPU overlaps barely two rows
 * of it; short independent loops let it overlap many.
 */
const GRADIENT_BLOCK = 512;

export interface RowKernels {
  /**
   * Fused pass for one-output objectives: add the previous tree's leaf values to the margins (taking
   * its pending last-level split), compute gradients (0 = logistic, 1 = squared error) and build the
   * root histogram. One pass instead of four, because passes over millions of rows dominate training.
   */
  gradientsAndRoot(
    objective: number,
    label: Float64Array,
    pred: Float64Array,
    gh: Float32Array,
    pos: Int32Array,
    nodes: Int32Array,
    leafValue: Float64Array,
    applyTree: number,
    mask: Uint8Array,
    useMask: number,
    bins: Uint8Array,
    binWords: Int32Array,
    hist: Float64Array,
    expTab: Float64Array,
    idx: Int32Array,
    seg: Int32Array,
    start: number,
    end: number,
  ): void;
  applyLeaves: typeof kernelApplyLeaves;
  softmaxGradients: typeof kernelSoftmaxGradients;
  /** Root histogram of output `k` (its gradient pairs start at `ghOffset`). */
  rootHistogram(
    bins: Uint8Array,
    binWords: Int32Array,
    gh: Float32Array,
    ghOffset: number,
    hist: Float64Array,
    idx: Int32Array,
    seg: Int32Array,
    start: number,
    end: number,
  ): void;
  /**
   * One level of depth-wise growth over this thread's row-index lists. `idx` has two halves of
   * `rows` entries; node n owns idx[seg[2n] .. seg[2n+1]) in one of them. For each of the `nList`
   * nodes in `list` split at this level: partition its rows into the other half, lefts from the
   * front and rights from the back (branch-free, no copying back), then accumulate only the smaller
   * child's rows into its histogram slot (slots 0..slots-1; larger siblings are marked with slot
   * `slots`, their histograms come from subtraction). The row order within a node is a fixed
   * function of the tree, so sums are deterministic.
   */
  splitLevel(
    bins: Uint8Array,
    binWords: Int32Array,
    gh: Float32Array,
    ghOffset: number,
    idx: Int32Array,
    rows: number,
    nodes: Int32Array,
    hist: Float64Array,
    slots: number,
    seg: Int32Array,
    list: Int32Array,
    nList: number,
  ): void;
  /** After a tree's last level: pos[row] = the node holding it, for the `nList` nodes in `list`. */
  assignPositions(pos: Int32Array, idx: Int32Array, seg: Int32Array, list: Int32Array, nList: number): void;
}

/** Source of an expression evaluating to a RowKernels object. */
export function rowKernelSource(nFeatures: number, binStride: number, rowStride: number, words: boolean): string {
  const F = nFeatures;
  const slotStride = F * binStride;
  // Bin code of feature f of the row at byte `rb` (word reads: `w0`, `w1` hold the row, little-endian).
  const binAt = (f: number): string => {
    if (!words) return `bins[rb + ${f}]`;
    const w = `w${f >> 2}`;
    const shift = 8 * (f & 3);
    return shift === 0 ? `(${w} & 255)` : shift === 24 ? `(${w} >>> 24)` : `((${w} >>> ${shift}) & 255)`;
  };
  const readRow = (): string => {
    if (!words || F > MAX_UNROLLED) return "";
    const n = rowStride >> 2;
    return Array.from({ length: n }, (_, k) => `const w${k} = binWords[${n === 1 ? "r" : `(r << 1) + ${k}`}];`).join(
      " ",
    );
  };

  // Accumulate (g, h) of the row whose bins start at `rb` into the histogram starting at `base`.
  const accumulate = (base: string): string => {
    if (F > MAX_UNROLLED) {
      return `for (let j = 0, at = ${base}; j < ${F}; j++, at += ${binStride}) {
        const i = at + (bins[rb + j] << 1); hist[i] += g; hist[i + 1] += h;
      }`;
    }
    const lines: string[] = [];
    for (let f = 0; f < F; f++) {
      lines.push(
        `${f === 0 ? "let " : ""}i = ${base} + ${f * binStride} + (${binAt(f)} << 1); hist[i] += g; hist[i + 1] += h;`,
      );
    }
    return [readRow(), ...lines].join("\n      ");
  };
  // Child of node table entry `t` for the row whose bins start at `rb` (see row-kernels.ts).
  const child = (t: string, out: string): string => `const ${out}_f = nodes[${t}];
      const ${out}_b = bins[rb + ${out}_f];
      const ${out}_x = ${out}_b ^ nodes[${t} + 2];
      const ${out} = nodes[${t} + 4] + (((nodes[${t} + 1] - ${out}_b) >>> 31) & ((${out}_x | -${out}_x) >>> 31));`;
  // Histogram of rows [b0, b1) of the root, whose gradient pairs start at `ghOffset`.
  const rootRows = `for (let r = b0; r < b1; r++) {
        const g = gh[ghOffset + (r << 1)], h = gh[ghOffset + (r << 1) + 1];
        const rb = r * ${rowStride};
        ${accumulate("0")}
      }`;
  const gradientsAndRootParams =
    "objective, label, pred, gh, pos, nodes, leafValue, applyTree, mask, useMask, " +
    "bins, binWords, hist, expTab, idx, seg, start, end";
  return `({
  gradientsAndRoot: function (${gradientsAndRootParams}) {
    hist.fill(0, 0, ${slotStride});
    seg[0] = start; seg[1] = end;
    const ghOffset = 0;
    for (let b0 = start; b0 < end; b0 += ${GRADIENT_BLOCK}) {
      const b1 = b0 + ${GRADIENT_BLOCK} < end ? b0 + ${GRADIENT_BLOCK} : end;
      if (applyTree === 1) {
        for (let r = b0; r < b1; r++) {
          const t = pos[r] << 3;
          if (nodes[t] >= 0) {
            const rb = r * ${rowStride};
            ${child("t", "c")}
            pred[r] += leafValue[c];
          } else {
            pred[r] += leafValue[pos[r]];
          }
        }
      }
      for (let r = b0; r < b1; r++) {
        const m = pred[r];
        let g = 0, h = 0;
        if (useMask === 0 || mask[r] === 1) {
          if (objective === 0) {
            const nm = -m;
            ${expSource("nm", "e")}
            const p = 1 / (1 + e);
            g = p - label[r];
            h = Math.max(p * (1 - p), 1e-16);
          } else { g = m - label[r]; h = 1; }
        }
        gh[r << 1] = g; gh[(r << 1) + 1] = h;
      }
      ${rootRows}
    }
  },
  applyLeaves: ${kernelApplyLeaves},
  softmaxGradients: ${kernelSoftmaxGradients},
  rootHistogram: function (bins, binWords, gh, ghOffset, hist, idx, seg, start, end) {
    hist.fill(0, 0, ${slotStride});
    seg[0] = start; seg[1] = end;
    const b0 = start, b1 = end;
    ${rootRows}
  },
  splitLevel: function (bins, binWords, gh, ghOffset, idx, rows, nodes, hist, slots, seg, list, nList) {
    hist.fill(0, 0, slots * ${slotStride});
    for (let q = 0; q < nList; q++) {
      const n = list[q];
      const t = n << 3;
      const s0 = seg[n << 1], e0 = seg[(n << 1) + 1];
      const shift = s0 < rows ? rows : -rows;
      const f = nodes[t], thr = nodes[t + 1], mlb = nodes[t + 2], l = nodes[t + 4];
      let lo = s0 + shift, hi = e0 + shift - 1;
      if (n === 0) {
        // The root holds every row of the range in order: no list to read.
        for (let r = s0; r < e0; r++) {
          const b = bins[r * ${rowStride} + f];
          const x = b ^ mlb;
          const right = ((thr - b) >>> 31) & ((x | -x) >>> 31);
          idx[lo + ((hi - lo) & -right)] = r;
          lo += 1 - right;
          hi -= right;
        }
      } else {
        for (let i = s0; i < e0; i++) {
          const r = idx[i];
          const b = bins[r * ${rowStride} + f];
          const x = b ^ mlb;
          const right = ((thr - b) >>> 31) & ((x | -x) >>> 31);
          idx[lo + ((hi - lo) & -right)] = r;
          lo += 1 - right;
          hi -= right;
        }
      }
      const b0 = s0 + shift, mid = lo, b1 = e0 + shift;
      seg[l << 1] = b0; seg[(l << 1) + 1] = mid;
      seg[(l + 1) << 1] = mid; seg[((l + 1) << 1) + 1] = b1;
      let slot = nodes[(l << 3) + 6], cb = b0, ce = mid;
      if (slot === slots) { slot = nodes[((l + 1) << 3) + 6]; cb = mid; ce = b1; }
      if (slot === slots) continue;
      const base = slot * ${slotStride};
      for (let k = cb; k < ce; k++) {
        const r = idx[k];
        const g = gh[ghOffset + (r << 1)], h = gh[ghOffset + (r << 1) + 1];
        const rb = r * ${rowStride};
        ${accumulate("base")}
      }
    }
  },
  assignPositions: function (pos, idx, seg, list, nList) {
    for (let q = 0; q < nList; q++) {
      const n = list[q];
      // The root's rows are its range in order (it has no list, see splitLevel).
      if (n === 0) pos.fill(0, seg[0], seg[1]);
      else for (let i = seg[n << 1], e = seg[(n << 1) + 1]; i < e; i++) pos[idx[i]] = n;
    }
  },
})`;
}

export function compileRowKernels(source: string): RowKernels {
  return new Function(`return ${source};`)() as RowKernels;
}
