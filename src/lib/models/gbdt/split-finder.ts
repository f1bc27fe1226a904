/**
 * Best split of one node from its gradient histogram, with XGBoost's gain
 *   gain = GL^2/(HL+lambda) + GR^2/(HR+lambda) - G^2/(H+lambda)
 * A split is kept when gain > gamma and both children have hessian >= minChildWeight.
 * Missing values (their own bin) are tried on both sides; the better side becomes the node's
 * default direction, which is how a learned missing-value direction arises.
 */
export interface SplitParams {
  lambda: number;
  gamma: number;
  minChildWeight: number;
}

export interface SplitCandidate {
  gain: number;
  feature: number;
  /** Last bin that goes left (bins <= bin go left). */
  bin: number;
  defaultLeft: boolean;
  gl: number;
  hl: number;
  gr: number;
  hr: number;
}

export interface HistogramLayout {
  binStride: number;
  valueBins: Int32Array;
  missingBin: Int32Array;
}

export function findBestSplit(
  hist: Float64Array,
  g: number,
  h: number,
  layout: HistogramLayout,
  featureMask: Uint8Array,
  params: SplitParams,
): SplitCandidate | null {
  const { lambda, minChildWeight } = params;
  const mcw = Math.max(minChildWeight, 1e-12);
  const parent = (g * g) / (h + lambda);
  let best: SplitCandidate | null = null;
  let bestGain = Math.max(params.gamma, 1e-10);
  for (let f = 0; f < layout.valueBins.length; f++) {
    if (featureMask[f] === 0) continue;
    const base = f * layout.binStride;
    const mb = layout.missingBin[f];
    const gm = mb >= 0 ? hist[base + 2 * mb] : 0;
    const hm = mb >= 0 ? hist[base + 2 * mb + 1] : 0;
    const tryMissingLeft = hm > 0;
    let gl = 0;
    let hl = 0;
    const last = layout.valueBins[f] - 1;
    for (let t = 0; t < last; t++) {
      gl += hist[base + 2 * t];
      hl += hist[base + 2 * t + 1];
      // Missing rows go right (they are in G - gl).
      let hr = h - hl;
      if (hl >= mcw && hr >= mcw) {
        const gr = g - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          // Without missing rows in training, send unseen missing values to the heavier child.
          best = { gain, feature: f, bin: t, defaultLeft: !tryMissingLeft && mb < 0 && hl >= hr, gl, hl, gr, hr };
        }
      }
      if (!tryMissingLeft) continue;
      const gl2 = gl + gm;
      const hl2 = hl + hm;
      hr = h - hl2;
      if (hl2 >= mcw && hr >= mcw) {
        const gr = g - gl2;
        const gain = (gl2 * gl2) / (hl2 + lambda) + (gr * gr) / (hr + lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          best = { gain, feature: f, bin: t, defaultLeft: true, gl: gl2, hl: hl2, gr, hr };
        }
      }
    }
  }
  return best;
}

/** Newton step for a leaf, before the learning rate. */
export function leafWeight(g: number, h: number, lambda: number): number {
  return -g / (h + lambda);
}
