/**
 * trainyard/features — feature engineering whose fitted state is plain JSON. Fit statistics in
 * DuckDB on training data, then apply the one TypeScript implementation to columns read from
 * Parquet (training, batch scoring) or to JSON request rows (serving).
 */
export type {
  FeatureSpec,
  TransformSpec,
  FittedFeatures,
  FittedTransform,
  FittedInput,
  InputType,
  OutputType,
  DatePart,
  RawColumn,
  RawColumns,
} from "./feature-spec.js";
export { DATE_PARTS } from "./feature-spec.js";
export { fitFeatures } from "./fit-features.js";
export { applyFeatures, bucketOf } from "./apply-features.js";
export { readRawColumns } from "./read-raw-columns.js";
export { rowsToRawColumns, type RowsOptions } from "./rows-to-raw-columns.js";
export { sqlTransform } from "./sql-transform.js";
export { FeatureInputError, isFeatureInputError, type FeatureInputErrorCode } from "./feature-input-error.js";
export { fnv1a32, hashBucket } from "./string-hash.js";
export { datePart, parseTimestamp } from "./date-parts.js";
