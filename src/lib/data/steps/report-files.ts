/**
 * Where data-quality steps put their HTML reports: an artifact when the step succeeds, and, when
 * it fails (so it has no outputs), a copy under `<home>/reports/` that the error message names.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { StepContext } from "../../../index.js";

export function writeReportHtml(ctx: StepContext<unknown>, name: string, html: string): string {
  const path = join(ctx.workdir, name);
  writeFileSync(path, html);
  return path;
}

/** Keeps a failing step's report readable after its work directory is removed. */
export function keepFailedReport(ctx: StepContext<unknown>, path: string): string {
  const dir = join(ctx.home, "reports");
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `${ctx.runId}-${ctx.stepId}-${basename(path)}`);
  copyFileSync(path, target);
  return target;
}

export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => `    ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")}`)
    .join("\n");
}
