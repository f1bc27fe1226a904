import { ModelError } from "../model-error.js";

/**
 * Linear models standardize features internally (zero mean, unit variance) so that one L2
 * penalty treats every feature alike and the optimizer is well conditioned; coefficients are
 * converted back so the saved model applies to raw inputs. Constant features get scale 1 (their
 * standardized column is all zeros, so their coefficient is 0).
 */
export interface Scaling {
  mean: Float64Array;
  scale: Float64Array;
}

export function fitScaling(columns: Float64Array[], names: string[]): Scaling {
  const p = columns.length;
  const mean = new Float64Array(p);
  const scale = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    let m = 0;
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (v !== v) {
        throw new ModelError("MISSING_VALUES", `feature "${names[j]}" has a missing value at row ${i}`, {
          column: names[j],
          hint:
            "linear models need complete rows: " +
            "impute or drop missing values in the feature step (or use GBDT, which handles them)",
        });
      }
      m += v;
    }
    m /= col.length;
    let ss = 0;
    for (let i = 0; i < col.length; i++) ss += (col[i] - m) ** 2;
    const sd = Math.sqrt(ss / col.length);
    mean[j] = m;
    scale[j] = sd > 1e-12 * Math.max(1, Math.abs(m)) ? sd : 1;
  }
  return { mean, scale };
}

/** Standardized copy in row-major order (rows x p), the layout the dense solvers iterate over. */
export function standardizedRows(columns: Float64Array[], rows: number, s: Scaling): Float64Array {
  const p = columns.length;
  const z = new Float64Array(rows * p);
  for (let j = 0; j < p; j++) {
    const col = columns[j];
    const m = s.mean[j];
    const k = 1 / s.scale[j];
    for (let i = 0; i < rows; i++) z[i * p + j] = (col[i] - m) * k;
  }
  return z;
}

/** The L2 strength both linear trainers take, validated once. */
export function l2Option(l2: number | undefined): number {
  const value = l2 ?? 1e-4;
  if (!(value >= 0))
    throw new ModelError("INVALID_OPTION", `option l2 = ${value} is invalid`, { hint: "l2 must be >= 0" });
  return value;
}
