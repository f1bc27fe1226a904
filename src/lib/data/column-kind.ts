/**
 * How the data library treats a DuckDB type: numbers get moments, quantiles and histograms;
 * text, booleans and enums get frequency tables; dates and times get ranges; anything else
 * (lists, structs, blobs) only counts and nulls.
 */
export type ColumnKind = "numeric" | "categorical" | "temporal" | "other";

const INTEGER_TYPES = "TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT";
const NUMERIC = new RegExp(String.raw`^(${INTEGER_TYPES}|FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?|REAL|INT\d*)$`);
const INTEGER = new RegExp(String.raw`^(${INTEGER_TYPES}|INT\d*)$`);
const FLOATING = /^(FLOAT|DOUBLE|REAL)$/;
const TEMPORAL = new RegExp(
  "^(DATE|TIME|TIMESTAMP|TIMESTAMP WITH TIME ZONE|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMPTZ|" +
    "TIME WITH TIME ZONE|TIME_NS)$",
);
const CATEGORICAL = /^(VARCHAR|BOOLEAN|ENUM\(.*\)|UUID)$/s;

export function columnKind(duckType: string): ColumnKind {
  const t = duckType.toUpperCase().trim();
  if (NUMERIC.test(t)) return "numeric";
  if (TEMPORAL.test(t)) return "temporal";
  if (CATEGORICAL.test(t) || t.startsWith("ENUM(")) return "categorical";
  return "other";
}

export function isIntegerType(duckType: string): boolean {
  return INTEGER.test(duckType.toUpperCase().trim());
}

export function isFloatingType(duckType: string): boolean {
  return FLOATING.test(duckType.toUpperCase().trim());
}

/** The logical type names a contract may use, and the DuckDB types each accepts. */
export type LogicalType = "integer" | "float" | "number" | "string" | "boolean" | "date" | "timestamp" | "time";

export function logicalTypeOf(duckType: string): LogicalType | undefined {
  const t = duckType.toUpperCase().trim();
  if (INTEGER.test(t)) return "integer";
  if (NUMERIC.test(t)) return "float";
  if (t === "VARCHAR" || t.startsWith("ENUM(") || t === "UUID") return "string";
  if (t === "BOOLEAN") return "boolean";
  if (t === "DATE") return "date";
  if (t.startsWith("TIMESTAMP")) return "timestamp";
  if (t.startsWith("TIME")) return "time";
  return undefined;
}

/** Whether a DuckDB type satisfies a contract type (a logical name or an exact DuckDB type). */
export function typeSatisfies(duckType: string, expected: string): boolean {
  const want = expected.trim();
  const logical = logicalTypeOf(duckType);
  if (want === "number") return logical === "integer" || logical === "float";
  if (want === logical) return true;
  return want.toUpperCase() === duckType.toUpperCase().trim();
}
