/**
 * Flagship example: predicting whether a US flight is delayed by more than 15 minutes, from
 * monthly partitions of flights-3m.parquet that land over time (see land-data.mjs).
 *
 *   npm start                      # lands the data and runs this pipeline end to end
 *   trainyard run examples/flight-delays/pipeline.ts --param delayThreshold=30
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { readdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pipeline } from "trainyard";
import { z } from "zod";

const p = pipeline("flight-delays", {
  description: "flight delay classifier, retrained as monthly partitions land",
  params: z.object({
    /** Folder the monthly partitions land in, relative to this module. */
    landing: z.string().default("landing"),
    /** A flight counts as delayed above this many minutes. */
    delayThreshold: z.number().int().positive().default(15),
  }),
  profiles: {
    dev: { delayThreshold: 15 },
    strict: { delayThreshold: 30 },
  },
});

const landingDir = (landing: string) => resolve(import.meta.dirname, landing);
const partitionFiles = (landing: string) =>
  readdirSync(landingDir(landing))
    .filter((f) => /^flights-\d{4}-\d{2}\.parquet$/.test(f))
    .sort()
    .map((f) => join(landingDir(landing), f));

/**
 * The partitions present in the landing folder. Their content digests (from the stat index, so
 * unchanged files are not re-read) are this step's sources: a newly landed month reruns it.
 */
const partitions = p.step("partitions", {
  description: "list the monthly partitions that have landed",
  params: ["landing"],
  sources: (params) => partitionFiles(params.landing),
  run: async (ctx) => {
    const files = partitionFiles(ctx.params.landing);
    if (!files.length) throw new Error(`no partitions in ${landingDir(ctx.params.landing)}: run node examples/flight-delays/land-data.mjs first`);
    const out = [];
    for (const path of files) out.push({ month: basename(path).slice(8, 15), path, digest: await ctx.digestFile(path) });
    return out;
  },
});

interface MonthSummary {
  month: string;
  flights: number;
  mean_delay: number;
  delayed_share: number;
  airports: number;
  mean_distance: number;
}

/** Per-month summary computed in DuckDB; each month is cached on its partition's digest. */
const monthly = p.map("summarize-month", {
  description: "per-month flight counts and delay statistics",
  over: partitions,
  params: ["delayThreshold"],
  run: async (ctx, part) => {
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    const reader = await conn.runAndReadAll(`
      SELECT count(*)::INTEGER AS flights,
             avg(delay)::DOUBLE AS mean_delay,
             avg(CASE WHEN delay > ${ctx.params.delayThreshold} THEN 1 ELSE 0 END)::DOUBLE AS delayed_share,
             count(DISTINCT origin)::INTEGER AS airports,
             avg(distance)::DOUBLE AS mean_distance
      FROM read_parquet('${part.path.replaceAll("'", "''")}')`);
    const [row] = reader.getRowObjectsJson() as unknown as Array<Omit<MonthSummary, "month">>;
    conn.closeSync();
    ctx.log(`${part.month}: ${row.flights} flights`);
    return { month: part.month, ...row } satisfies MonthSummary;
  },
});

/** A small HTML report over all months. */
p.step("report", {
  description: "monthly summary report",
  inputs: { monthly },
  run: (ctx, { monthly }) => {
    const rows = monthly
      .map((m) => `<tr><td>${m.month}</td><td>${m.flights.toLocaleString("en-US")}</td><td>${m.mean_delay.toFixed(2)}</td><td>${(100 * m.delayed_share).toFixed(1)}%</td><td>${m.airports}</td></tr>`)
      .join("\n");
    writeFileSync(
      join(ctx.workdir, "report.html"),
      `<!doctype html><meta charset="utf-8"><title>flight-delays: months</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:4px 10px;text-align:right}</style>
<h1>Flights per month</h1><table><tr><th>month</th><th>flights</th><th>mean delay</th><th>delayed</th><th>airports</th></tr>
${rows}</table>`,
    );
    return { report: ctx.file("report.html", { contentType: "text/html" }), months: monthly.length, flights: monthly.reduce((s, m) => s + m.flights, 0) };
  },
});

export default p;
