/**
 * SQL over datasets in DuckDB, as a step and as a function: each input dataset (or list of
 * datasets, e.g. a map step's output) is a view named after its input, read in its own format,
 * and the query's result is written as a Parquet dataset. Plus a seeded sample of a dataset.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Dataset, Pipeline, StepRef } from "../../../index.js";
import { DataError, translateDuckError } from "../data-error.js";
import { resolveSource } from "../data-source.js";
import { queryRows, withConnection } from "../duck.js";
import { publishParquet, temporaryPath, type IngestOptions } from "../ingest-output.js";
import { callWithParams, paramsReadBy } from "../../params/param-functions.js";
import { sqlIdent, sqlString } from "../sql-text.js";
import { datasetSource } from "./quality-steps.js";

/** What a query reads: name -> a dataset, or a list of datasets read as one table (union by column name). */
export type SqlInputs = Record<string, Dataset | readonly Dataset[]>;

const LIB_VERSION = "sql-steps/1";

/** Runs `fn` with each input visible as a view named after it. */
async function withInputViews<T>(inputs: SqlInputs, fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
  return withConnection(async (con) => {
    for (const [name, value] of Object.entries(inputs)) {
      await con.run(`CREATE TEMP VIEW ${sqlIdent(name)} AS SELECT * FROM ${relationOf(name, value)}`);
    }
    return fn(con);
  });
}

function relationOf(name: string, value: Dataset | readonly Dataset[]): string {
  const list = Array.isArray(value) ? (value as readonly Dataset[]) : [value as Dataset];
  if (list.length === 0) {
    throw new DataError("EMPTY_DATASET", `SQL input "${name}" is an empty list of datasets`, {
      hint: "Check the step that produces it (e.g. a map over no items).",
    });
  }
  if (list.every((d) => (d.meta.format ?? "parquet") === "parquet")) {
    return `read_parquet([${list.map((d) => sqlString(d.path)).join(", ")}], union_by_name = true)`;
  }
  const selects = list.map((d) => `SELECT * FROM ${resolveSource(datasetSource(d)).relation}`);
  return `(${selects.join(" UNION ALL BY NAME ")})`;
}

/** Rows of a query over datasets, for small results (counts, summaries); use `sqlStep` for datasets. */
export async function queryDatasets<T = Record<string, unknown>>(inputs: SqlInputs, sql: string): Promise<T[]> {
  return withInputViews(inputs, async (con) => {
    try {
      return (await queryRows(con, sql)) as T[];
    } catch (err) {
      throw translateDuckError(err, { file: Object.keys(inputs).join(", ") });
    }
  });
}

/** Writes the result of `sql` over `inputs` as Parquet at `outPath`, checked like an ingestion. */
export async function writeQuery(inputs: SqlInputs, sql: string, outPath: string, opts: IngestOptions = {}) {
  return withInputViews(inputs, async (con) => {
    const tmp = temporaryPath(outPath);
    try {
      await con.run(`COPY (${sql}) TO ${sqlString(tmp)} (FORMAT parquet)`);
    } catch (err) {
      throw translateDuckError(err, { file: `query over ${Object.keys(inputs).join(", ")}` });
    }
    return publishParquet(con, tmp, outPath, { files: [`query over ${Object.keys(inputs).join(", ")}`] }, opts);
  });
}

type Param<P> = keyof P & string;

export interface SqlStepOptions<P, K extends Param<P>> extends IngestOptions {
  /** Datasets (or lists of datasets) the query reads, each as a view of that name. */
  inputs: Record<string, StepRef<Dataset> | StepRef<Dataset[]>>;
  /** Pipeline params the query reads; they enter the cache key. @default those `sql` reads on the defaults */
  params?: readonly K[];
  /** A SELECT over the inputs, or a function of the params returning one. */
  sql: string | ((params: Pick<P, K>) => string);
  description?: string;
}

/** A step whose output is the result of a SQL query over datasets, as a Parquet dataset. */
export function sqlStep<P, const K extends Param<P> = Param<P>>(
  p: Pipeline<P>,
  id: string,
  opts: SqlStepOptions<P, K>,
): StepRef<Dataset> {
  const { inputs, params, sql, description, ...check } = opts;
  const read = paramsReadBy(p, id, sql, params);
  return p.step(id, {
    description: description ?? "SQL query over datasets",
    inputs,
    params: read as never[],
    version: LIB_VERSION,
    // A function's source enters the cache key like a fixed query does.
    config: { sql: typeof sql === "string" ? sql : sql.toString(), check },
    run: async (ctx, values) => {
      const text = typeof sql === "string" ? sql : callWithParams(p, id, sql, ctx.params, read);
      const out = await writeQuery(values as SqlInputs, text, join(ctx.workdir, "data.parquet"), check);
      ctx.log(`${out.rows} rows x ${out.schema.length} columns`);
      return ctx.dataset(out.path, { format: "parquet", rows: out.rows, schema: out.schema, summary: out.summary });
    },
  });
}

/** How much of a dataset to keep: a fraction of the rows (Bernoulli) or a number of rows (reservoir). */
export type SampleSize = { fraction: number } | { rows: number };

export interface SampleStepOptions<P, K extends Param<P>> {
  input: StepRef<Dataset>;
  /** Share of rows to keep, or the name of a param holding it; >= 1 keeps the dataset as is. */
  fraction?: number | K;
  /** Rows to keep, or the name of a param holding the number. */
  rows?: number | K;
  /** The same seed on the same data keeps the same rows. @default 42 */
  seed?: number;
  description?: string;
}

/** A seeded random sample of a dataset (e.g. a smaller training set for a dev profile or a search). */
export function sampleStep<P, const K extends Param<P> = never>(
  p: Pipeline<P>,
  id: string,
  opts: SampleStepOptions<P, K>,
): StepRef<Dataset> {
  const seed = opts.seed ?? 42;
  if ((opts.fraction === undefined) === (opts.rows === undefined)) {
    throw new DataError("INVALID_OPTION", `sample step "${id}" needs exactly one of \`fraction\` and \`rows\``, {
      hint: 'e.g. { fraction: 0.1 } or { rows: "searchRows" }',
    });
  }
  const named = [opts.fraction, opts.rows].filter((v): v is K => typeof v === "string");
  return p.step(id, {
    description: opts.description ?? "random sample",
    inputs: { data: opts.input },
    params: named,
    version: LIB_VERSION,
    config: { fraction: opts.fraction, rows: opts.rows, seed },
    run: async (ctx, { data }) => {
      const value = (v: number | K) => (typeof v === "number" ? v : Number((ctx.params as Record<string, unknown>)[v]));
      const size: SampleSize =
        opts.fraction !== undefined ? { fraction: value(opts.fraction) } : { rows: value(opts.rows!) };
      const sample = sampleClause(size, seed);
      if (sample === undefined) {
        ctx.log(`kept all ${data.meta.rows ?? ""} rows (fraction ${(size as { fraction: number }).fraction})`);
        return data;
      }
      mkdirSync(ctx.workdir, { recursive: true });
      const out = await writeQuery(
        { data },
        `SELECT * FROM data USING SAMPLE ${sample}`,
        join(ctx.workdir, "sample.parquet"),
        { allowNonFinite: true },
      );
      ctx.log(`sampled ${out.rows} of ${data.meta.rows ?? "?"} rows (${sample})`);
      return ctx.dataset(out.path, { format: "parquet", rows: out.rows, schema: out.schema, summary: out.summary });
    },
  });
}

function sampleClause(size: SampleSize, seed: number): string | undefined {
  if ("fraction" in size) {
    if (!(size.fraction > 0))
      throw new DataError("INVALID_OPTION", `sample fraction must be above 0 (got ${size.fraction})`, {
        hint: "e.g. { fraction: 0.1 }",
      });
    return size.fraction >= 1 ? undefined : `${size.fraction * 100} PERCENT (bernoulli, ${seed})`;
  }
  if (!(Number.isInteger(size.rows) && size.rows > 0)) {
    throw new DataError("INVALID_OPTION", `sample rows must be a positive integer (got ${size.rows})`, {
      hint: "e.g. { rows: 50000 }",
    });
  }
  return `${size.rows} ROWS (reservoir, ${seed})`;
}
