/**
 * Reads the raw inputs of fitted features from a dataset as typed arrays. No per-row JS value
 * is created: nulls are replaced in SQL (NaN for numbers, -1 for string codes) so each DuckDB
 * result vector is one contiguous Float64Array/Int32Array that is copied with `set`, and
 * strings cross as codes into a dictionary built by one DISTINCT aggregate.
 *
 * Like the data library's `readColumns` (ENUM codes, streamed chunks, bulk vector copies through
 * `streamTypedColumns`), but typed by the fitted inputs so serving and training read alike.
 */
import { translateDuckError } from "../data/data-error.js";
import { queryRows, streamTypedColumns, tempName, withConnection } from "../data/duck.js";
import { sqlIdent, sqlString } from "../data/sql-text.js";
import type { FittedFeatures, RawColumns } from "./feature-spec.js";
import { inputRelation, resolveSource, type DataSource } from "./input-relation.js";

export async function readRawColumns(source: DataSource, fitted: Pick<FittedFeatures, "inputs">): Promise<RawColumns> {
  const resolved = resolveSource(source);
  const file = resolved.file ?? resolved.label;
  // The same cast relation fitting used, so a declared type (e.g. a numeric zip read as a
  // string) reads identically here.
  const relation = inputRelation(resolved.relation, fitted.inputs);
  const strings = fitted.inputs.filter((i) => i.type === "string").map((i) => i.name);
  return withConnection(async (con) => {
    const enumTypes: string[] = [];
    try {
      const dictionaries = new Map<string, string[]>();
      if (strings.length) {
        const lists = strings.map(
          (c, k) =>
            `list(DISTINCT ${sqlIdent(c)} ORDER BY ${sqlIdent(c)}) FILTER (WHERE ${sqlIdent(c)} IS NOT NULL) AS d${k}`,
        );
        const [row] = await queryRows(con, `SELECT ${lists.join(", ")} FROM ${relation}`);
        strings.forEach((c, k) => dictionaries.set(c, ((row[`d${k}`] as unknown[] | null) ?? []).map(String)));
      }
      const selects: string[] = [];
      for (const input of fitted.inputs) {
        const c = `input.${sqlIdent(input.name)}`;
        if (input.type === "string") {
          const dictionary = dictionaries.get(input.name)!;
          const enumName = tempName("feat");
          await con.run(
            `CREATE TYPE ${enumName} AS ENUM (${dictionary.length ? dictionary.map(sqlString).join(", ") : "''"})`,
          );
          enumTypes.push(enumName);
          selects.push(`coalesce(CAST(enum_code(CAST(${c} AS ${enumName})) AS INTEGER), -1)`);
        } else if (input.type === "timestamp") {
          selects.push(`coalesce(CAST(epoch_ms(${c}) AS DOUBLE), 'NaN'::DOUBLE)`);
        } else {
          selects.push(`coalesce(CAST(${c} AS DOUBLE), 'NaN'::DOUBLE)`);
        }
      }
      const buffers = await streamTypedColumns(
        con,
        `SELECT ${selects.join(", ")} FROM ${relation} AS input`,
        fitted.inputs.map((i) => i.type === "string"),
      );
      const columns: RawColumns["columns"] = {};
      fitted.inputs.forEach((input, k) => {
        const buf = buffers.columns[k];
        columns[input.name] =
          buf instanceof Int32Array ? { codes: buf, dictionary: dictionaries.get(input.name)! } : buf;
      });
      return { rows: buffers.rows, columns };
    } catch (err) {
      throw translateDuckError(err, { file });
    } finally {
      for (const t of enumTypes) await con.run(`DROP TYPE IF EXISTS ${t}`).catch(() => undefined);
    }
  });
}
