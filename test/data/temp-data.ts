/** Test fixtures: a temp dir per suite and tables written to CSV/Parquet by DuckDB itself. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withConnection } from "../../src/lib/data/duck.js";
import { sqlString } from "../../src/lib/data/sql-text.js";

export function makeTempDir(prefix = "ty-data-"): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Cell = string | number | boolean | null;

/** Writes rows to CSV (via a text file) or Parquet (CSV → DuckDB COPY with the given types). */
export async function writeTable(path: string, columns: Record<string, string>, rows: Cell[][]): Promise<string> {
  const names = Object.keys(columns);
  const csv = [names.join(","), ...rows.map((r) => r.map(csvCell).join(","))].join("\n") + "\n";
  if (path.endsWith(".csv")) {
    writeFileSync(path, csv);
    return path;
  }
  const tmp = `${path}.src.csv`;
  writeFileSync(tmp, csv);
  const types = names.map((n) => `${sqlString(n)}: ${sqlString(columns[n] ?? "VARCHAR")}`).join(", ");
  await withConnection(async (con) => {
    await con.run(
      `COPY (SELECT ` +
        `* FROM read_csv(${sqlString(tmp)}, header = true, ` +
        `columns = {${types}}, nullstr = '')) TO ${sqlString(path)} (FORMAT parquet)`,
    );
  });
  rmSync(tmp);
  return path;
}

function csvCell(v: Cell): string {
  if (v === null) return "";
  if (typeof v === "number")
    return Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : String(v);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Deterministic PRNG (mulberry32) and a normal sampler. */
export function rng(seed: number): {
  next: () => number;
  normal: (mu?: number, sigma?: number) => number;
  int: (lo: number, hi: number) => number;
} {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (mu = 0, sigma = 1) =>
    mu + sigma * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, normal, int };
}
