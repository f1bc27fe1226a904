import type { FeatureMatrix } from "../../src/lib/models/feature-matrix.js";
import { seededRandom } from "../../src/lib/models/random.js";

/** Binary data with a known non-linear signal, and optionally missing values in feature c. */
export function syntheticBinary(n: number, seed = 1, missingRate = 0): { x: FeatureMatrix; y: Float64Array } {
  const r = seededRandom(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = r.next();
    b[i] = r.next() * 10;
    const cv = r.next();
    const missing = r.next() < missingRate;
    c[i] = missing ? NaN : cv;
    // Missing c carries signal of its own, so a learned default direction matters.
    const z = 4 * (a[i] - 0.5) + 1.5 * Math.sin(b[i]) + (missing ? 1.5 : cv > 0.5 ? 1 : -1);
    y[i] = r.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x: { names: ["a", "b", "c"], columns: [a, b, c], rows: n }, y };
}
