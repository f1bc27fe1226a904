/**
 * A dataset's schema (column names and DuckDB types) and row count. For Parquet the row count
 * comes from the footer, so reading a schema never scans the data.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { columnKind, type ColumnKind } from "./column-kind.js";
import { DataError, translateDuckError } from "./data-error.js";
import { resolveSource, type DataSource, type ResolvedSource } from "./data-source.js";
import { queryRows, queryScalar, toNumber, withConnection } from "./duck.js";

export interface SchemaColumn {
  name: string;
  /** DuckDB type name, e.g. BIGINT, VARCHAR, TIMESTAMP. */
  type: string;
  kind: ColumnKind;
}

export interface DatasetSchema {
  columns: SchemaColumn[];
  rowCount: number;
}

export async function readSchema(source: DataSource): Promise<DatasetSchema> {
  const resolved = resolveSource(source);
  return withConnection(async (con) => {
    const columns = await describeColumns(con, resolved);
    const rowCount = await countRows(con, resolved);
    return { columns, rowCount };
  });
}

export async function describeColumns(con: DuckDBConnection, src: ResolvedSource): Promise<SchemaColumn[]> {
  let rows;
  try {
    rows = await queryRows(con, `DESCRIBE SELECT * FROM ${src.relation}`);
  } catch (err) {
    throw translateDuckError(err, { file: src.file ?? src.label });
  }
  return rows.map((r) => {
    const type = String(r.column_type);
    return { name: String(r.column_name), type, kind: columnKind(type) };
  });
}

export async function countRows(con: DuckDBConnection, src: ResolvedSource): Promise<number> {
  try {
    return toNumber(await queryScalar(con, `SELECT count(*) FROM ${src.relation}`)) ?? 0;
  } catch (err) {
    throw translateDuckError(err, { file: src.file ?? src.label });
  }
}

/** Throws COLUMN_NOT_FOUND for the first requested column the schema lacks, naming near misses. */
export function requireColumns(schema: readonly SchemaColumn[], wanted: readonly string[], file?: string): SchemaColumn[] {
  const byName = new Map(schema.map((c) => [c.name, c]));
  return wanted.map((name) => {
    const col = byName.get(name);
    if (col) return col;
    const near = schema.filter((c) => c.name.toLowerCase() === name.toLowerCase() || c.name.toLowerCase().includes(name.toLowerCase()));
    const suggestion = near.length ? ` Did you mean ${near.map((c) => `"${c.name}"`).join(", ")}?` : "";
    throw new DataError("COLUMN_NOT_FOUND", `Column "${name}" is not in the dataset`, {
      file, column: name,
      hint: `Available columns: ${schema.map((c) => c.name).join(", ")}.${suggestion}`,
    });
  });
}
