/**
 * A dataset's schema (column names and DuckDB types) and row count. For Parquet the row count
 * comes from the footer, so reading a schema never scans the data.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { columnKind, type ColumnKind } from "./column-kind.js";
import { DataError, translateDuckError } from "./data-error.js";
import { resolveSource, type DataSource, type ResolvedSource } from "./data-source.js";
import { queryRows, queryScalar, toNumber, withConnection } from "./duck.js";
import { sqlString } from "./sql-text.js";

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
    const error = translateDuckError(err, { file: src.file ?? src.label });
    if (error.code === "MALFORMED_ROW" && error.line === undefined && src.format === "csv" && src.file) {
      throw (await locateRaggedLine(con, src.file)) ?? error;
    }
    throw error;
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
export function requireColumns(
  schema: readonly SchemaColumn[],
  wanted: readonly string[],
  file?: string,
): SchemaColumn[] {
  const byName = new Map(schema.map((c) => [c.name, c]));
  return wanted.map((name) => {
    const col = byName.get(name);
    if (col) return col;
    const near = schema.filter(
      (c) => c.name.toLowerCase() === name.toLowerCase() || c.name.toLowerCase().includes(name.toLowerCase()),
    );
    const suggestion = near.length ? ` Did you mean ${near.map((c) => `"${c.name}"`).join(", ")}?` : "";
    throw new DataError("COLUMN_NOT_FOUND", `Column "${name}" is not in the dataset`, {
      file,
      column: name,
      hint: `Available columns: ${schema.map((c) => c.name).join(", ")}.${suggestion}`,
    });
  });
}

/**
 * When DuckDB cannot even sniff a CSV (a ragged row in a small file), find the first line whose
 * field count differs from the header's, by reading raw lines. Quoted delimiters are not
 * understood here; this runs only on the error path to name a line.
 */
async function locateRaggedLine(con: DuckDBConnection, file: string): Promise<DataError | undefined> {
  const delim = file.toLowerCase().endsWith(".tsv") ? "\t" : ",";
  try {
    const rows = await queryRows(
      con,
      `
      WITH l AS (SELECT line, row_number() OVER () AS n FROM read_csv(${sqlString(file)},
        columns = {'line': 'VARCHAR'}, delim = '\x01', header = false, quote = '', escape = '', auto_detect = false)),
      f AS (SELECT n, len(string_split(line, ${sqlString(delim)})) AS k, line FROM l)
      SELECT n, k, line, (SELECT k FROM f WHERE n = 1) AS expected FROM f WHERE k <> (SELECT k FROM f WHERE n = 1)
        ORDER BY n LIMIT 1`,
    );
    const bad = rows[0];
    if (!bad) return undefined;
    const line = toNumber(bad.n) ?? 0;
    return new DataError(
      "MALFORMED_ROW",
      `Malformed CSV row: ` +
        `expected ${bad.expected} fields, found ${bad.k}: ${JSON.stringify(String(bad.line).slice(0, 120))}`,
      {
        file,
        line,
        row: line - 1,
        rule: "fieldCount",
        hint:
          "Fix the number of fields on that line (check quoting and delimiters), " +
          "or pass `ignoreErrors: true` to skip malformed rows.",
      },
    );
  } catch {
    return undefined;
  }
}
