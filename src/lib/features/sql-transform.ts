/**
 * Arbitrary SQL run in DuckDB before fitting: derived columns (ratios, flags, joins, casts)
 * that no built-in transform expresses. The query reads the source as `input`.
 *
 * The derived columns become ordinary inputs of the fitted features: a serving request must
 * send them too (the predictor does not run SQL per request), so keep SQL transforms to what a
 * caller can compute, or use them for cleaning the training data.
 */
import { DataError } from "../data/data-error.js";
import { resolveSource, sourceLabel, type DataSource, type SqlSource } from "../data/data-source.js";

/** `sqlTransform("flights.parquet", "SELECT *, distance / 100 AS hundreds FROM input")`. */
export function sqlTransform(source: DataSource, query: string, label?: string): SqlSource {
  if (typeof query !== "string" || !/\binput\b/i.test(query)) {
    throw new DataError("INVALID_OPTION", "A SQL transform must read from `input`", {
      hint: "Write the query against the table name input, e.g. SELECT *, x * 2 AS y FROM input.",
    });
  }
  const resolved = resolveSource(source);
  return { sql: `WITH input AS ${resolved.relation} ${query}`, label: label ?? `${sourceLabel(source)} | sql` };
}
