/**
 * Feature specifications (what the user writes) and fitted features (plain JSON that travels
 * with a model). The fitted form holds every statistic a transform needs, so one TypeScript
 * implementation (`applyFeatures`) can turn raw columns into the model's matrix both at training
 * time and at serving time.
 */

/** How a raw input column is typed: timestamps travel as epoch milliseconds (UTC). */
export type InputType = "number" | "string" | "timestamp" | "boolean";

/**
 * Calendar parts of a timestamp, computed in UTC. `day_of_week` is 0 = Monday … 6 = Sunday,
 * i.e. DuckDB's `isodow(ts) - 1`; `day_of_year` is 1-based like DuckDB's `dayofyear`.
 */
export type DatePart = "year" | "month" | "day" | "hour" | "minute" | "day_of_week" | "day_of_year";

export const DATE_PARTS: readonly DatePart[] = ["year", "month", "day", "hour", "minute", "day_of_week", "day_of_year"];

interface OneOutput {
  column: string;
  /** Name of the output feature. @default the column name */
  name?: string;
}

export type TransformSpec =
  /** The number as is (booleans as 0/1, timestamps as epoch ms). */
  | ({ kind: "passthrough" } & OneOutput)
  /** (x - mean) / std with the population std of the training rows; a constant column maps to x - mean. */
  | ({ kind: "standardize" } & OneOutput)
  /** (x - min) / (max - min) over the training rows. */
  | ({ kind: "minmax" /** Clamp to [0, 1] outside the training range. @default false */; clip?: boolean } & OneOutput)
  /** Replaces missing numbers with a statistic of the training rows (or `value` for "constant"). */
  | ({
      kind: "impute";
      strategy: "mean" | "median" | "constant" | "most_frequent";
      /** The fill value for strategy "constant". */
      value?: number;
      /** Also emit `<name>_missing` (1 where the value was missing). @default false */
      indicator?: boolean;
    } & OneOutput)
  /** One 0/1 feature per frequent category, plus `<column>=__other__`; missing is all zeros. */
  | {
      kind: "onehot";
      column: string;
      /** Keep the k most frequent training categories (ties: lexicographic). @default 10 */
      topK?: number;
      /** Drop categories seen fewer than this many times in training. @default 1 */
      minCount?: number;
    }
  /** Share of training rows holding the category; unseen categories get 0, missing NaN. */
  | ({ kind: "frequency" } & OneOutput)
  /** Category index (sorted training categories, or `categories` in the given order); unseen or missing -> NaN. */
  | ({ kind: "ordinal" | "label"; categories?: readonly string[] } & OneOutput)
  /**
   * Bucket index 0..edges.length: the number of edges <= x. Give `edges`, or `quantiles` buckets fitted on training
   * data.
   */
  | ({ kind: "bucketize"; edges?: readonly number[]; quantiles?: number } & OneOutput)
  /** FNV-1a 32-bit hash of the UTF-8 bytes, modulo `buckets`; missing -> NaN. No fitting. */
  | ({ kind: "hash"; buckets: number } & OneOutput)
  /** Calendar parts as `<column>_<part>` features. */
  | { kind: "datepart"; column: string; parts: readonly DatePart[] };

export interface FeatureSpec {
  /**
   * Declared input types, overriding the types read from the training data, e.g.
   * `{ zip: "string" }` for a numeric-looking code. The training data are cast accordingly.
   * @default the training data's types
   */
  inputs?: Record<string, InputType>;
  /**
   * Applied in order. A numeric transform (passthrough, standardize, minmax, impute, bucketize)
   * without its own `name`, on a column an earlier transform already made a feature of, reads and
   * replaces that feature: `impute x`, `standardize x`, `bucketize x` chain into one feature `x`,
   * like a scikit-learn Pipeline. A transform with its own `name` reads the raw column.
   */
  transforms: readonly TransformSpec[];
}

export interface FittedInput {
  name: string;
  type: InputType;
  /** Whether null is an acceptable value at serving time (the training data had nulls, or it is imputed). */
  nullable: boolean;
}

/**
 * A numeric transform whose `column` names a feature an earlier transform produced (impute ->
 * standardize -> bucketize on one column) reads that feature, not the raw column.
 */
interface Chainable {
  /** Reads the earlier transform's feature named `column`. @default false (the raw input) */
  chained?: true;
}

export type FittedTransform =
  | ({ kind: "passthrough"; column: string; output: string } & Chainable)
  | ({ kind: "standardize"; column: string; output: string; mean: number; std: number } & Chainable)
  | ({ kind: "minmax"; column: string; output: string; min: number; max: number; clip: boolean } & Chainable)
  | ({ kind: "impute"; column: string; output: string; strategy: string; fill: number; indicator?: string } & Chainable)
  | { kind: "onehot"; column: string; categories: string[]; outputs: string[]; other: string }
  | { kind: "frequency"; column: string; output: string; categories: string[]; frequencies: number[] }
  | { kind: "ordinal"; column: string; output: string; categories: string[] }
  | ({ kind: "bucketize"; column: string; output: string; edges: number[] } & Chainable)
  | { kind: "hash"; column: string; output: string; buckets: number; hash: "fnv1a-32" }
  | { kind: "datepart"; column: string; parts: DatePart[]; outputs: string[] };

export type OutputType = "numeric" | "categorical";

/** The JSON a model bundle carries. */
export interface FittedFeatures {
  version: 1;
  inputs: FittedInput[];
  transforms: FittedTransform[];
  outputs: { name: string; type: OutputType }[];
  /** Rows the statistics were computed on. */
  trainingRows: number;
}

/**
 * Raw input columns, column-major. Numbers, booleans (0/1) and timestamps (epoch ms) are
 * Float64Array with NaN for missing; strings are plain arrays (null = missing) or dictionary
 * codes (-1 = missing) as DuckDB hands them over.
 */
export type RawColumn = Float64Array | (string | null)[] | { codes: Int32Array; dictionary: string[] };

export interface RawColumns {
  rows: number;
  columns: Record<string, RawColumn>;
}

/** Transforms that need a numeric (number/boolean/timestamp) input vs a string input. */
export const NUMERIC_KINDS = new Set(["passthrough", "standardize", "minmax", "impute", "bucketize"]);
export const STRING_KINDS = new Set(["onehot", "frequency", "ordinal", "label", "hash"]);
