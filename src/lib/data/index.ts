/**
 * trainyard/data — the data standard library: schemas, profiles, drift, contracts and their
 * HTML reports, as plain functions on DuckDB. Pipeline steps wrap these; nothing here imports
 * the engine.
 */
export { DataError, isDataError, type DataErrorCode } from "./data-error.js";
export type { DataSource, FileSource, SqlSource, DataFormat } from "./data-source.js";
export { readColumns, sqlString, type ColumnArrays, type NumericArray, type CodedArray } from "./duck.js";
export { readSchema, type DatasetSchema, type SchemaColumn } from "./schema.js";
export { columnKind, type ColumnKind } from "./column-kind.js";
export {
  profileDataset,
  type Profile,
  type ColumnProfile,
  type ProfileOptions,
  type Histogram,
  type TopK,
} from "./profile.js";
export { detectDrift, CHI_SQUARE_PSEUDOCOUNT, type DriftReport, type ColumnDrift, type SchemaChange } from "./drift.js";
export {
  DEFAULT_RULES,
  type DriftConfig,
  type DriftStatistic,
  type StatRule,
  type Verdict,
  type Action,
} from "./drift-config.js";
export {
  PSI_EPSILON,
  populationStabilityIndex,
  jensenShannonDistance,
  lInfinityDistance,
  chiSquareTest,
} from "./drift-math.js";
export { ksTwoSamplePValue } from "./ks-distribution.js";
export {
  ContractSchema,
  validateContract,
  type Contract,
  type ColumnContract,
  type TableContract,
} from "./contract.js";
export { checkContract, type ContractReport, type Violation } from "./contract-check.js";
export { inferContract, inferContractFromFiles, renderContractModule, type InferOptions } from "./contract-infer.js";
export { renderProfileHtml, renderDriftHtml, renderContractHtml, renderTableHtml } from "./report-html.js";
export {
  validate,
  profile,
  drift,
  datasetSource,
  enforceContract,
  type ValidateOptions,
  type ProfileStepOptions,
  type DriftStepOptions,
} from "./steps/quality-steps.js";
export {
  ingest,
  type IngestSource,
  type FileIngest,
  type SqliteIngest,
  type PostgresIngest,
  type IngestOptions,
  type IngestResult,
} from "./ingest.js";
export {
  ingestStep,
  freshnessStep,
  splitStep,
  type IngestStepOptions,
  type FreshnessStepOptions,
  type SplitStepOptions,
} from "./ingest-steps.js";
export { checkFreshness, type FreshnessOptions, type FreshnessResult } from "./freshness.js";
export { splitDataset, type SplitSpec, type SplitResult } from "./split.js";
export {
  sqlStep,
  sampleStep,
  queryDatasets,
  writeQuery,
  type SqlStepOptions,
  type SampleStepOptions,
  type SampleSize,
  type SqlInputs,
} from "./steps/sql-steps.js";
export { sqlReport, type SqlReportOptions, type SqlReport } from "./steps/sql-report.js";
export {
  landedFiles,
  ingestEach,
  type LandedFile,
  type LandedFilesOptions,
  type IngestEachOptions,
} from "./steps/landed-files.js";
