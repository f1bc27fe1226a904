/**
 * Pipeline steps over the ingestion, freshness and split functions, built on the public
 * authoring API like any user step. Options go into `config` (so they enter the cache key) and
 * the files a source reads into `sources` (so a changed or newly landed partition reruns the
 * step, and an unchanged one is not even re-read thanks to the stat index).
 *
 * Paths are used as given by the step's process: pass absolute paths, e.g.
 * `resolve(import.meta.dirname, "landing/*.parquet")`.
 */
import type { Dataset, Pipeline, StepRef } from "../../index.js";
import { checkFreshness, type FreshnessOptions, type FreshnessResult } from "./freshness.js";
import { ingest, type IngestSource } from "./ingest.js";
import { listSourceFiles } from "./ingest-files.js";
import type { IngestOptions } from "./ingest-output.js";
import { splitDataset, type SplitSpec } from "./split.js";
import { datasetSource } from "./steps/quality-steps.js";

export interface IngestStepOptions extends IngestOptions {
  source: IngestSource;
  description?: string;
}

/** A step that ingests `source` into a Parquet dataset with `rows` and `schema` in its meta. */
export function ingestStep<P>(p: Pipeline<P>, id: string, opts: IngestStepOptions): StepRef<Dataset> {
  const { source, description, ...ingestOptions } = opts;
  const isPostgres = "postgres" in source;
  return p.step(id, {
    description: description ?? `ingest ${describe(source)}`,
    config: { source: isPostgres ? { ...source, postgres: "(connection)" } : source, ...ingestOptions },
    // A database query cannot be fingerprinted from files: rerun it every time.
    cache: !isPostgres,
    sources: () => ("sqlite" in source ? [source.sqlite] : "postgres" in source ? [] : listSourceFiles(source.path)),
    run: async (ctx) => {
      const out = await ingest(source, `${ctx.workdir}/data.parquet`, ingestOptions);
      ctx.log(`ingested ${out.rows} rows from ${out.files.length} file(s)`);
      return ctx.dataset("data.parquet", {
        format: "parquet",
        rows: out.rows,
        schema: out.schema,
        summary: out.summary,
        sources: out.files.length,
      });
    },
  });
}

export interface FreshnessStepOptions extends Omit<FreshnessOptions, "now"> {
  /** A file, directory or glob. */
  path: string;
  description?: string;
}

/** A never-cached check that fails the run fast when the newest data are older than `maxAge`. */
export function freshnessStep<P>(p: Pipeline<P>, id: string, opts: FreshnessStepOptions): StepRef<FreshnessResult> {
  const { path, description, ...check } = opts;
  return p.step(id, {
    description: description ?? `freshness of ${path} (max age ${check.maxAge})`,
    config: opts,
    cache: false,
    run: async () => checkFreshness(path, check),
  });
}

export interface SplitStepOptions {
  input: StepRef<Dataset>;
  split: SplitSpec;
  description?: string;
}

/** A step that splits a dataset into `train` and `test` datasets. */
export function splitStep<P>(
  p: Pipeline<P>,
  id: string,
  opts: SplitStepOptions,
): StepRef<{ train: Dataset; test: Dataset }> {
  return p.step(id, {
    description: opts.description ?? `${opts.split.method} train/test split`,
    config: opts.split,
    inputs: { data: opts.input },
    run: async (ctx, { data }) => {
      // The input may be a CSV or JSON from a command step: read it as what it declares.
      const result = await splitDataset(datasetSource(data), opts.split, ctx.workdir);
      ctx.log(
        `train ${result.train.rows} rows, test ${result.test.rows} rows (read as ${data.meta.format ?? "parquet"})`,
      );
      // The sides are written as Parquet: a text input's schema no longer describes them.
      const schema = data.meta.format === "parquet" || data.meta.format === undefined ? data.meta.schema : undefined;
      return {
        train: ctx.dataset(result.train.path, { format: "parquet", rows: result.train.rows, schema }),
        test: ctx.dataset(result.test.path, { format: "parquet", rows: result.test.rows, schema }),
      };
    },
  });
}

function describe(source: IngestSource): string {
  if ("sqlite" in source) return `SQLite ${source.sqlite}`;
  if ("postgres" in source) return "PostgreSQL query";
  return source.path;
}
