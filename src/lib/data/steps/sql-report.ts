/**
 * A report as a query: the rows of a SQL query over datasets, rendered as a self-contained HTML
 * table (`trainyard report <run> <step>` finds it), for summaries a person reads after each run.
 */
import type { Dataset, FileArtifact, Pipeline, StepRef } from "../../../index.js";
import { renderTableHtml } from "../report-html.js";
import { queryDatasets, type SqlInputs } from "./sql-steps.js";
import { writeReportHtml } from "./report-files.js";
import { callWithParams, paramsReadBy } from "../../params/param-functions.js";

type Param<P> = keyof P & string;

export interface SqlReportOptions<P, K extends Param<P>> {
  /** The page's title and heading. */
  title: string;
  /** Datasets (or lists of datasets) the query reads, each as a view of that name. */
  inputs: Record<string, StepRef<Dataset> | StepRef<Dataset[]>>;
  /** Pipeline params the query reads; they enter the cache key. @default those `sql` reads on the defaults */
  params?: readonly K[];
  /** A SELECT over the inputs, or a function of the params returning one; keep its result small. */
  sql: string | ((params: Pick<P, K>) => string);
  description?: string;
}

export interface SqlReport {
  /** The HTML page (content type text/html). */
  report: FileArtifact;
  /** The query's rows, as they appear in the table. */
  rows: Record<string, unknown>[];
}

/** A step that renders the rows of a SQL query over datasets as an HTML table report. */
export function sqlReport<P, const K extends Param<P> = Param<P>>(
  p: Pipeline<P>,
  id: string,
  opts: SqlReportOptions<P, K>,
): StepRef<SqlReport> {
  const { inputs, params, sql, title } = opts;
  const read = paramsReadBy(p, id, sql, params);
  return p.step(id, {
    description: opts.description ?? title,
    inputs,
    params: read as never[],
    version: "sql-report/1",
    // A function's source enters the cache key like a fixed query does.
    config: { sql: typeof sql === "string" ? sql : sql.toString(), title },
    run: async (ctx, values) => {
      const text = typeof sql === "string" ? sql : callWithParams(p, id, sql, ctx.params, read);
      // Plain numbers, so the rows are a JSON output like any other.
      const rows = (await queryDatasets(values as SqlInputs, text)).map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])),
      );
      ctx.log(`${rows.length} rows`);
      const path = writeReportHtml(ctx, "report.html", renderTableHtml(title, rows));
      return { report: ctx.file(path, { contentType: "text/html" }), rows };
    },
  });
}
