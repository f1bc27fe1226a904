import { ModelError } from "./model-error.js";

/**
 * Column-major numeric features: `columns[j][i]` is feature `names[j]` of row `i`.
 * NaN means missing. Column-major because data arrive that way from DuckDB/Parquet and because
 * binning and standardization work one feature at a time.
 */
export interface FeatureMatrix {
  names: string[];
  columns: Float64Array[];
  rows: number;
}

/** How a feature is to be interpreted; categorical features are integer codes. */
export type FeatureType = "numeric" | "categorical";

/** What a model expects as input, in order. */
export interface InputSignature {
  features: { name: string; type: FeatureType }[];
}

/** Builds a FeatureMatrix from named columns, checking that lengths agree. */
export function featureMatrix(columns: Record<string, ArrayLike<number>>): FeatureMatrix {
  const names = Object.keys(columns);
  const rows = names.length === 0 ? 0 : columns[names[0]].length;
  const out: Float64Array[] = [];
  for (const name of names) {
    const col = columns[name];
    if (col.length !== rows) {
      throw new ModelError("LENGTH_MISMATCH", `feature "${name}" has ${col.length} rows, expected ${rows}`, {
        column: name,
        hint: "all feature columns must have the same number of rows",
      });
    }
    out.push(col instanceof Float64Array ? col : Float64Array.from(col));
  }
  return { names, columns: out, rows };
}

/** Checks internal consistency of a matrix (every column has `rows` entries). */
export function checkMatrix(x: FeatureMatrix): void {
  if (x.names.length !== x.columns.length) {
    throw new ModelError("LENGTH_MISMATCH", `${x.names.length} names but ${x.columns.length} columns`, {
      hint: "give one name per feature column",
    });
  }
  for (let j = 0; j < x.columns.length; j++) {
    if (x.columns[j].length !== x.rows) {
      throw new ModelError(
        "LENGTH_MISMATCH",
        `feature "${x.names[j]}" has ${x.columns[j].length} rows, expected ${x.rows}`,
        {
          column: x.names[j],
          hint: "all feature columns must have the same number of rows",
        },
      );
    }
  }
}

/**
 * Reorders `x` to the model's feature order. Scoring by name rather than position is what makes a
 * registered model safe to call with a dataset whose columns were reordered upstream.
 */
export function alignToSignature(x: FeatureMatrix, signature: InputSignature): Float64Array[] {
  checkMatrix(x);
  const byName = new Map<string, Float64Array>();
  x.names.forEach((name, j) => byName.set(name, x.columns[j]));
  return signature.features.map(({ name }) => {
    const col = byName.get(name);
    if (col === undefined) {
      throw new ModelError("FEATURE_MISMATCH", `input has no feature "${name}" that the model was trained on`, {
        column: name,
        hint: `provide the features ${signature.features.map((f) => f.name).join(", ")}`,
      });
    }
    return col;
  });
}

export function numericSignature(names: string[], categorical: string[] = []): InputSignature {
  const cats = new Set(categorical);
  return { features: names.map((name) => ({ name, type: cats.has(name) ? "categorical" : "numeric" })) };
}

/** Rejects an all-constant design, where no model can learn anything. */
export function checkNotAllConstant(columns: Float64Array[], names: string[]): void {
  for (const col of columns) {
    let first = NaN;
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (v !== v) continue;
      if (first !== first) first = v;
      else if (v !== first) return;
    }
  }
  throw new ModelError(
    "ALL_CONSTANT_FEATURES",
    `every feature (${names.join(", ")}) is constant over the training rows`,
    {
      hint: "check the feature step: a join or filter probably collapsed the features",
    },
  );
}
