// Months of flights-3m.parquet (vega-datasets: 3M US flights, January-June 2001) for the autonomy
// demo: a month cut as a Parquet partition (optionally a deterministic sample of it), and the same
// month's flights as prediction requests. A shifted month keeps its flights but its delays follow
// another rule (morning departures run late, afternoon ones on time): the label shift the
// monitor has to notice, since the model learned that delays build up over the day.
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
/** The package exports only its JS entry (build/index.js); the data folder sits beside build/. */
export const FLIGHTS_3M = join(dirname(require.resolve("vega-datasets")), "..", "data", "flights-3m.parquet");

/** A flight counts as delayed above this many minutes (the pipeline's default delayThreshold). */
export const DELAY_THRESHOLD = 15;

export const monthFile = (landing: string, month: number) => join(landing, `flights-2001-${String(month).padStart(2, "0")}.parquet`);

/** The month's rows; `sample` keeps that many, chosen by a hash of the row (the same on every run). */
function monthSelect(month: number, { sample, shifted }: { sample?: number; shifted?: boolean }): string {
  // Shifted: a morning flight is delayed by 20-80 minutes, any later one leaves on time or early.
  const delay = shifted
    ? `CASE WHEN hour(date) < 12 THEN 20 + CAST(hash(date, origin, destination) % 61 AS INTEGER) ELSE least(delay, 0) END`
    : "delay";
  const limit = sample ? `ORDER BY hash(date, origin, destination, distance) LIMIT ${Number(sample)}` : "";
  return `SELECT * FROM (SELECT date, ${delay}::INTEGER AS delay, distance, origin, destination
      FROM read_parquet('${FLIGHTS_3M}') WHERE year(date) = 2001 AND month(date) = ${Number(month)} ${limit})
    ORDER BY date`;
}

async function withDuck<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
  }
}

/**
 * Writes the months into the landing folder, each cut to a hidden name first and then all renamed
 * into place at once: a sensor never reads half a file, and months landing together are one batch.
 * `shifted(month)` says whether a month's delays follow the other rule. Returns paths and rows.
 */
export interface LandedMonth {
  month: number;
  file: string;
  rows: number;
  landedAt: number;
}

export async function landMonths(
  landing: string,
  months: number[],
  { sample, shifted = () => false }: { sample?: number; shifted?: (month: number) => boolean } = {},
): Promise<LandedMonth[]> {
  mkdirSync(landing, { recursive: true });
  const cut = await withDuck(async (conn) => {
    const out = [];
    for (const month of months) {
      const tmp = join(landing, `.${month}.parquet.tmp`);
      await conn.run(`COPY (${monthSelect(month, { sample, shifted: shifted(month) })}) TO '${tmp}' (FORMAT parquet, COMPRESSION zstd)`);
      const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${tmp}')`);
      out.push({ month, tmp, file: monthFile(landing, month), rows: Number(r.getRowObjectsJson()[0].n) });
    }
    return out;
  });
  for (const c of cut) {
    rmSync(c.file, { force: true });
    renameSync(c.tmp, c.file);
  }
  return cut.map(({ month, file, rows }) => ({ month, file, rows, landedAt: Date.now() }));
}

/**
 * `count` flights of the month as the server takes them (no delay), each with the label it will
 * get later (delayed or not, under the month's rule). Spread over the month, the same every run.
 */
export interface Flight {
  row: { date: string; distance: number; origin: string; destination: string };
  delayed: 0 | 1;
}

export async function monthTraffic(month: number, count: number, opts: { shifted?: boolean } = {}): Promise<Flight[]> {
  return withDuck(async (conn) => {
    const sql = `SELECT strftime(date, '%Y-%m-%dT%H:%M:%SZ') AS date, distance, origin, destination,
        CASE WHEN delay > ${DELAY_THRESHOLD} THEN 1 ELSE 0 END AS delayed
      FROM (${monthSelect(month, { shifted: opts.shifted })})
      WHERE delay IS NOT NULL
      ORDER BY hash(date, destination, origin, 7) LIMIT ${Number(count)}`;
    const rows = (await conn.runAndReadAll(sql)).getRowObjectsJson();
    return rows.map((r) => ({
      row: { date: String(r.date), distance: Number(r.distance), origin: String(r.origin), destination: String(r.destination) },
      delayed: Number(r.delayed) === 1 ? 1 : 0,
    }));
  });
}
