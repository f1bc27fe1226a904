/**
 * The raw inputs of a feature set as a DuckDB relation: exactly the input columns, each cast to
 * the DuckDB type of its declared input type. Fitting and `readRawColumns` both read through
 * it, so a statistic is computed on the very values the transform later sees.
 */
import { columnKind } from "../data/column-kind.js";
import { DataError, translateDuckError } from "../data/data-error.js";
import { resolveSource, type DataSource, type ResolvedSource } from "../data/data-source.js";
import { queryRows, withConnection } from "../data/duck.js";
import { sqlIdent } from "../data/sql-text.js";
import type { FittedInput, InputType } from "./feature-spec.js";

/** The input type a DuckDB column maps to, or undefined for lists, structs, blobs and times of day. */
export function inputTypeOf(duckType: string): InputType | undefined {
  const t = duckType.toUpperCase().trim();
  if (t === "BOOLEAN") return "boolean";
  const kind = columnKind(t);
  if (kind === "numeric") return "number";
  if (kind === "temporal") return t.startsWith("TIME") && !t.startsWith("TIMESTAMP") ? undefined : "timestamp";
  if (kind === "categorical") return "string";
  return undefined;
}

const CAST: Record<InputType, string> = {
  number: "DOUBLE",
  string: "VARCHAR",
  timestamp: "TIMESTAMP",
  boolean: "BOOLEAN",
};

/** `(SELECT CAST("a" AS DOUBLE) AS "a", ... FROM <relation>)` over the given inputs. */
export function inputRelation(relation: string, inputs: readonly Pick<FittedInput, "name" | "type">[]): string {
  const cols = inputs.map((i) => `CAST(${sqlIdent(i.name)} AS ${CAST[i.type]}) AS ${sqlIdent(i.name)}`);
  return `(SELECT ${cols.join(", ")} FROM ${relation})`;
}

/** Column name -> DuckDB type of a source, with file errors translated. */
export async function describeSource(resolved: ResolvedSource): Promise<Map<string, string>> {
  return withConnection(async (con) => {
    try {
      const rows = await queryRows(con, `DESCRIBE SELECT * FROM ${resolved.relation}`);
      return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
    } catch (err) {
      throw translateDuckError(err, { file: resolved.file ?? resolved.label });
    }
  });
}

/** Resolves the inputs a set of transforms reads: declared types win, otherwise the data's types. */
export function planInputs(
  columns: readonly string[],
  described: Map<string, string>,
  declared: Record<string, InputType> = {},
  file?: string,
): Pick<FittedInput, "name" | "type">[] {
  return columns.map((name) => {
    const duckType = described.get(name);
    if (duckType === undefined) {
      throw new DataError("COLUMN_NOT_FOUND", `Feature input "${name}" is not in the training data`, {
        file,
        column: name,
        hint: `Available columns: ${[...described.keys()].join(", ")}.`,
      });
    }
    const type = declared[name] ?? inputTypeOf(duckType);
    if (type === undefined) {
      throw new DataError("COLUMN_TYPE", `Feature input "${name}" has type ${duckType}, which no transform reads`, {
        file,
        column: name,
        hint: "Convert it with sqlTransform(...) or declare its type in spec.inputs.",
      });
    }
    return { name, type };
  });
}

export { resolveSource, type DataSource };
