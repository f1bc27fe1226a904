/**
 * The one implementation of every fitted transform, over typed arrays. Training (columns read
 * from Parquet) and serving (JSON request rows) both come through here, so the matrix a model
 * is trained on and the matrix it scores in production cannot disagree.
 */
import type { FeatureMatrix } from "../models/feature-matrix.js";
import { datePartColumn } from "./date-parts.js";
import { FeatureInputError } from "./feature-input-error.js";
import type { FittedFeatures, FittedTransform, RawColumn, RawColumns } from "./feature-spec.js";
import { hashBucket } from "./string-hash.js";

/** Turns raw columns into the model's feature matrix, in the order of `fitted.outputs`. */
export function applyFeatures(fitted: FittedFeatures, raw: RawColumns): FeatureMatrix {
  const n = raw.rows;
  const names: string[] = [];
  const columns: Float64Array[] = [];
  const chains = hasChains(fitted);
  // Features by name, for chained transforms to read (a later link replaces an earlier one).
  const produced = chains ? new Map<string, Float64Array>() : undefined;
  const emit = (name: string, values: Float64Array) => {
    names.push(name);
    columns.push(values);
    produced?.set(name, values);
  };
  const numericInput = (t: FittedTransform): Float64Array =>
    "chained" in t && t.chained ? produced!.get(t.column)! : rawNumeric(raw, t.column);
  for (const t of fitted.transforms) {
    switch (t.kind) {
      case "passthrough":
        emit(t.output, Float64Array.from(numericInput(t)));
        break;
      case "standardize": {
        const x = numericInput(t);
        const out = new Float64Array(n);
        // A constant training column has std 0: centre it rather than divide by zero.
        const scale = t.std > 0 ? t.std : 1;
        for (let i = 0; i < n; i++) out[i] = (x[i] - t.mean) / scale;
        emit(t.output, out);
        break;
      }
      case "minmax": {
        const x = numericInput(t);
        const out = new Float64Array(n);
        const range = t.max - t.min;
        for (let i = 0; i < n; i++) {
          const v = x[i];
          let s = range > 0 ? (v - t.min) / range : v - v;
          if (t.clip && s === s) s = s < 0 ? 0 : s > 1 ? 1 : s;
          out[i] = s;
        }
        emit(t.output, out);
        break;
      }
      case "impute": {
        const x = numericInput(t);
        const out = new Float64Array(n);
        const flag = t.indicator === undefined ? undefined : new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const v = x[i];
          const missing = v !== v;
          out[i] = missing ? t.fill : v;
          if (flag) flag[i] = missing ? 1 : 0;
        }
        emit(t.output, out);
        if (flag && t.indicator !== undefined) emit(t.indicator, flag);
        break;
      }
      case "bucketize": {
        const x = numericInput(t);
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) out[i] = bucketOf(x[i], t.edges);
        emit(t.output, out);
        break;
      }
      case "datepart": {
        const x = numericInput(t);
        t.parts.forEach((part, p) => {
          const out = new Float64Array(n);
          datePartColumn(x, part, out);
          emit(t.outputs[p], out);
        });
        break;
      }
      case "onehot": {
        const index = lookup(t, t.categories);
        const other = t.categories.length;
        const codes = encodeStrings(raw, t.column, n, (s) => (s === null ? -1 : (index.get(s) ?? other)));
        const outs = t.outputs.map(() => new Float64Array(n));
        for (let i = 0; i < n; i++) if (codes[i] >= 0) outs[codes[i]][i] = 1;
        outs.forEach((o, k) => emit(t.outputs[k], o));
        break;
      }
      case "frequency": {
        const index = lookup(t, t.categories);
        emit(
          t.output,
          encodeStrings(raw, t.column, n, (s) => {
            if (s === null) return NaN;
            const k = index.get(s);
            return k === undefined ? 0 : t.frequencies[k];
          }),
        );
        break;
      }
      case "ordinal": {
        const index = lookup(t, t.categories);
        emit(
          t.output,
          encodeStrings(raw, t.column, n, (s) => (s === null ? NaN : (index.get(s) ?? NaN))),
        );
        break;
      }
      case "hash":
        emit(
          t.output,
          encodeStrings(raw, t.column, n, (s) => (s === null ? NaN : hashBucket(s, t.buckets))),
        );
        break;
      default:
        throw new FeatureInputError("WRONG_TYPE", `unknown fitted transform kind "${(t as { kind: string }).kind}"`, {
          hint: "the fitted features were written by a newer Trainyard; refit them with this version",
        });
    }
  }
  if (!produced) return { names, columns, rows: n };
  return {
    names: fitted.outputs.map((o) => o.name),
    columns: fitted.outputs.map((o) => produced.get(o.name)!),
    rows: n,
  };
}

const chained = new WeakMap<FittedFeatures, boolean>();

function hasChains(fitted: FittedFeatures): boolean {
  let has = chained.get(fitted);
  if (has === undefined) {
    has = fitted.transforms.some((t) => "chained" in t && t.chained === true);
    chained.set(fitted, has);
  }
  return has;
}

/** Number of edges <= x (so x equal to an edge falls in the bucket above it); NaN stays NaN. */
export function bucketOf(x: number, edges: readonly number[]): number {
  if (x !== x) return NaN;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const lookups = new WeakMap<FittedTransform, Map<string, number>>();

/** category -> index, built once per fitted transform (a predictor reuses it on every request). */
function lookup(t: FittedTransform, categories: readonly string[]): Map<string, number> {
  let map = lookups.get(t);
  if (!map) {
    map = new Map(categories.map((c, i) => [c, i]));
    lookups.set(t, map);
  }
  return map;
}

function column(raw: RawColumns, name: string): RawColumn {
  const col = raw.columns[name];
  if (col === undefined) {
    throw new FeatureInputError("MISSING_FIELD", `input column "${name}" is missing`, {
      field: name,
      hint: `pass every column listed in fitted.inputs (given: ${Object.keys(raw.columns).join(", ") || "none"})`,
    });
  }
  const length = col instanceof Float64Array || Array.isArray(col) ? col.length : col.codes.length;
  if (length !== raw.rows) {
    throw new FeatureInputError(
      "LENGTH_MISMATCH",
      `input column "${name}" has ${length} values, expected ${raw.rows}`,
      {
        field: name,
        hint: "every raw column must hold one value per row",
      },
    );
  }
  return col;
}

function rawNumeric(raw: RawColumns, name: string): Float64Array {
  const col = column(raw, name);
  if (!(col instanceof Float64Array)) {
    throw new FeatureInputError("WRONG_TYPE", `input column "${name}" holds strings, expected numbers`, {
      field: name,
      hint: "numbers, booleans (0/1) and timestamps (epoch ms) are passed as a Float64Array",
    });
  }
  return col;
}

/** Maps a string column (plain or dictionary-coded) through `encode`; a dictionary is encoded once per entry. */
function encodeStrings(raw: RawColumns, name: string, n: number, encode: (s: string | null) => number): Float64Array {
  const col = column(raw, name);
  const out = new Float64Array(n);
  if (col instanceof Float64Array) {
    throw new FeatureInputError("WRONG_TYPE", `input column "${name}" holds numbers, expected strings`, {
      field: name,
      hint: "pass strings as an array of string | null, or as { codes, dictionary }",
    });
  }
  if (Array.isArray(col)) {
    for (let i = 0; i < n; i++) out[i] = encode(col[i]);
    return out;
  }
  const table = new Float64Array(col.dictionary.length);
  for (let k = 0; k < table.length; k++) table[k] = encode(col.dictionary[k]);
  const missing = encode(null);
  const codes = col.codes;
  for (let i = 0; i < n; i++) {
    const c = codes[i];
    out[i] = c < 0 ? missing : table[c];
  }
  return out;
}
