/**
 * The monitor's second signal: input drift of the rows the alias served in a window against the
 * reference profile of the version serving them, as PSI per column (the data library's
 * driftFromProfile; categories by their top-k counts). The worst column speaks for the window.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CompiledMonitor } from "../core/triggers.js";
import { compileDriftConfig } from "../lib/data/drift-config.js";
import { driftFromProfile } from "../lib/data/drift-from-profile.js";
import { populationStabilityIndex } from "../lib/data/drift-math.js";
import type { ColumnDrift } from "../lib/data/drift-report.js";
import type { Profile } from "../lib/data/profile.js";
import type { ServedRow } from "./monitor-windows.js";

export interface DriftWindow {
  start: number;
  end: number;
  /** Rows served by the watched version in the window. */
  served: number;
  /** The largest PSI of any column, and that column. */
  psi?: number;
  column?: string;
  /** Enough served rows (the monitor's minLabelledRows) to judge drift. */
  counts: boolean;
  breach?: boolean;
  recovered?: boolean;
  note?: string;
}

/** Drift of each window (ends newest first) against `reference`; windows with too few rows are not measured. */
export async function measureDrift(
  m: CompiledMonitor,
  reference: Profile,
  rows: readonly ServedRow[],
  ends: readonly number[],
): Promise<DriftWindow[]> {
  const threshold = m.drift!.threshold;
  const config = compileDriftConfig({ schema: { added: null, removed: null, retyped: null }, nonFinite: "drop" });
  const dir = mkdtempSync(join(tmpdir(), "trainyard-monitor-"));
  try {
    const out: DriftWindow[] = [];
    for (const end of ends) {
      const start = end - m.windowMs;
      const inside = rows.filter((r) => r.ts >= start && r.ts < end && typeof r.input === "object" && r.input !== null);
      const w: DriftWindow = { start, end, served: inside.length, counts: false };
      if (inside.length < m.minLabelledRows) {
        out.push({ ...w, note: `${inside.length} served rows, fewer than ${m.minLabelledRows}` });
        continue;
      }
      // DuckDB reads the served rows as JSON lines, with the same type inference as any JSON dataset.
      const file = join(dir, `window-${end}.jsonl`);
      writeFileSync(file, `${inside.map((r) => JSON.stringify(r.input)).join("\n")}\n`);
      const report = await driftFromProfile(reference, { path: file, format: "json" }, config);
      rmSync(file, { force: true });
      const worst = worstColumn(report.columns);
      if (!worst) {
        out.push({ ...w, note: "no served column matches a profiled one" });
        continue;
      }
      out.push({
        ...w,
        psi: worst.psi,
        column: worst.name,
        counts: true,
        breach: worst.psi > threshold,
        recovered: worst.psi <= threshold,
      });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function worstColumn(columns: readonly ColumnDrift[]): { name: string; psi: number } | undefined {
  let worst: { name: string; psi: number } | undefined;
  for (const c of columns) {
    const psi = columnPsi(c);
    if (psi !== undefined && (!worst || psi > worst.psi)) worst = { name: c.name, psi };
  }
  return worst;
}

function columnPsi(c: ColumnDrift): number | undefined {
  const numeric = c.stats.psi?.value;
  if (typeof numeric === "number" && Number.isFinite(numeric)) return numeric;
  if (c.kind !== "categorical" || !c.chart) return undefined;
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  if (total(c.chart.reference) === 0 || total(c.chart.current) === 0) return undefined;
  return populationStabilityIndex(c.chart.reference, c.chart.current);
}
