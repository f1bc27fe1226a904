/**
 * The small numeric kernels of drift detection, on count vectors that are already aligned
 * (shared histogram bins or a shared category list). Conventions follow SciPy so results can
 * be checked against it: natural logarithms everywhere.
 */

/**
 * Floor applied to bin proportions in PSI: an empty bin in either distribution would make
 * ln(p/q) infinite, so proportions below PSI_EPSILON are raised to it (no renormalization).
 * 1e-4 is the usual choice (e.g. Evidently); it caps one empty bin's contribution near
 * (p - 1e-4) * ln(p / 1e-4).
 */
export const PSI_EPSILON = 1e-4;

/** Population Stability Index: sum (c - r) * ln(c / r) over proportions, with PSI_EPSILON. */
export function populationStabilityIndex(reference: readonly number[], current: readonly number[]): number {
  const r = normalize(reference);
  const c = normalize(current);
  let psi = 0;
  for (let i = 0; i < r.length; i++) {
    const ri = Math.max(r[i], PSI_EPSILON);
    const ci = Math.max(c[i] ?? 0, PSI_EPSILON);
    psi += (ci - ri) * Math.log(ci / ri);
  }
  return psi;
}

/** `scipy.spatial.distance.jensenshannon(p, q)` with the default base (natural log). */
export function jensenShannonDistance(p0: readonly number[], q0: readonly number[]): number {
  const p = normalize(p0);
  const q = normalize(q0);
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    left += relEntr(p[i], m);
    right += relEntr(q[i], m);
  }
  return Math.sqrt(Math.max(0, (left + right) / 2));
}

/** scipy.special.rel_entr: x ln(x/y), 0 at x = 0. */
export function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/** L-infinity distance between normalized frequency vectors (TFDV's drift comparator). */
export function lInfinityDistance(p0: readonly number[], q0: readonly number[]): number {
  const p = normalize(p0);
  const q = normalize(q0);
  let d = 0;
  for (let i = 0; i < p.length; i++) d = Math.max(d, Math.abs(p[i] - q[i]));
  return d;
}

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  dof: number;
}

/** `scipy.stats.chisquare(observed, expected)`: sum (o - e)^2 / e, p = chi2.sf(stat, k - 1). */
export function chiSquareTest(observed: readonly number[], expected: readonly number[]): ChiSquareResult {
  let stat = 0;
  for (let i = 0; i < observed.length; i++) {
    const d = observed[i] - expected[i];
    stat += (d * d) / expected[i];
  }
  const dof = observed.length - 1;
  return { statistic: stat, pValue: dof > 0 ? chiSquareSf(stat, dof) : NaN, dof };
}

/** Survival function of the chi-square distribution: Q(dof/2, x/2). */
export function chiSquareSf(x: number, dof: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return regularizedGammaQ(dof / 2, x / 2);
}

/** Regularized upper incomplete gamma Q(a, x) (series below a+1, Lentz continued fraction above). */
export function regularizedGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.max(0, 1 - Math.exp(lead) * sum);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(lead) * h;
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~1e-15 relative). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

export function normalize(v: readonly number[]): number[] {
  let s = 0;
  for (const x of v) s += x;
  return v.map((x) => (s > 0 ? x / s : 0));
}
