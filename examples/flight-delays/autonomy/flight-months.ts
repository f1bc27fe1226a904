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

export const monthFile = (landing: string, month: number) =>
  join(landing, `flights-2001-${String(month).padStart(2, "0")}.parquet`);

/** The month's rows; `sample` keeps that many, chosen by a hash of the row (the same on every run). */
function monthSelect(month: number, { sample, shifted }: { sample?: number; shifted?: boolean }): string {
  // Shifted: a morning flight is delayed by 20-80 minutes, any later one leaves on time or early.
  const delay = shifted
    ? `CASE WHEN hour(date) < 12 THEN 20 + CAST(hash(date, origin, destination) % 61 AS INTEGER)
        ELSE least(delay, 0) END`
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

export interface LandedMonth {
  month: number;
  file: string;
  rows: number;
  landedAt: number;
}

export interface CutMonth {
  month: number;
  path: string;
  rows: number;
}

export interface CutOptions {
  /** Keep this many rows of each month (a hash of the row picks them: the same on every run). */
  sample?: number;
  /** Whether a month's delays follow the shifted rule. @default none */
  shifted?: (month: number) => boolean;
}

/** Cuts the months as Parquet files into `dir` (a staging folder no sensor watches). */
export async function cutMonths(dir: string, months: number[], { sample, shifted = () => false }: CutOptions = {}) {
  mkdirSync(dir, { recursive: true });
  return withDuck(async (conn) => {
    const out: CutMonth[] = [];
    for (const month of months) {
      const path = monthFile(dir, month);
      const select = monthSelect(month, { sample, shifted: shifted(month) });
      await conn.run(`COPY (${select}) TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
      const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${path}')`);
      out.push({ month, path, rows: Number(r.getRowObjectsJson()[0].n) });
    }
    return out;
  });
}

/**
 * Lands cut months: each renamed into the landing folder (same file system), all at once, so a
 * sensor never reads half a file and months landing together are one batch.
 */
export function moveIntoPlace(cut: CutMonth[], landing: string): LandedMonth[] {
  mkdirSync(landing, { recursive: true });
  for (const c of cut) renameSync(c.path, monthFile(landing, c.month));
  const landedAt = Date.now();
  return cut.map((c) => ({ month: c.month, file: monthFile(landing, c.month), rows: c.rows, landedAt }));
}

/** Cuts the months next to the landing folder, then lands them. */
export async function landMonths(landing: string, months: number[], opts: CutOptions = {}): Promise<LandedMonth[]> {
  const staging = join(landing, "..", `.staging-${process.pid}`);
  try {
    return moveIntoPlace(await cutMonths(staging, months, opts), landing);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

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
      row: {
        date: String(r.date),
        distance: Number(r.distance),
        origin: String(r.origin),
        destination: String(r.destination),
      },
      delayed: Number(r.delayed) === 1 ? 1 : 0,
    }));
  });
}
