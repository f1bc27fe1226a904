/**
 * `trainyard runs compare <run> <run>... [--json] [--differences]`: params, metrics (best and
 * final, each labelled) and tags of runs side by side, the rows where they differ first.
 */
import type { ComparisonRow, RunComparison } from "../../engine/run-comparison.js";
import { has, usage, type ParsedArgs } from "../args.js";
import { bold, dim, green, table } from "../format.js";
import { openHome } from "../open-home.js";

export const RUNS_COMPARE_USAGE = "trainyard runs compare <run> <run>... [--differences] [--json]";

export async function runsCompareCommand(args: ParsedArgs): Promise<number> {
  if (args.positionals.length < 2) throw usage(`runs compare needs two runs or more: ${RUNS_COMPARE_USAGE}`);
  const ty = await openHome(args);
  try {
    const comparison = await ty.query.compareRuns(args.positionals);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${formatComparison(comparison, has(args, "differences"))}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}

export function formatComparison(c: RunComparison, onlyDifferences: boolean): string {
  const header = ["", ...c.runs.map((r) => bold(r.id))];
  const rows = [header, ["", ...c.runs.map((r) => dim(`${r.pipeline} ${r.status}`))]];
  const differing = c.rows.filter((r) => r.differs);
  const same = c.rows.filter((r) => !r.differs);
  const section = (title: string, list: ComparisonRow[]) => {
    if (!list.length) return;
    rows.push([dim(title), ...c.runs.map(() => "")]);
    for (const r of list) {
      rows.push([labelOf(r), ...r.values.map((v, i) => cell(v, r.at?.[i] ?? null, r.best === i && r.differs))]);
    }
  };
  section(`differ (${differing.length})`, differing);
  if (!onlyDifferences) section(`same in every run (${same.length})`, same);
  if (!c.rows.length) return `${table(rows)}\n${dim("no params, metrics or tags recorded")}`;
  return table(rows);
}

function labelOf(r: ComparisonRow): string {
  if (r.kind === "param") return `param ${r.key}`;
  if (r.kind === "tag") return `tag ${r.key}`;
  const measure = r.measure === "final" ? "final" : "best";
  return `${r.key} ${measure} ${dim(r.goal === "min" ? "(lower is better)" : "(higher is better)")}`;
}

/** A value, the step or epoch it was recorded at (`@12`), and `*` on the best run of a differing row. */
function cell(v: unknown, at: number | null, best: boolean): string {
  if (v === undefined || v === null) return dim("-");
  let text = typeof v === "number" ? formatNumber(v) : typeof v === "string" ? v : JSON.stringify(v);
  if (at !== null) text += ` @${at}`;
  return best ? green(`${text} *`) : text;
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  return abs !== 0 && (abs < 1e-4 || abs >= 1e6) ? n.toExponential(4) : String(Number(n.toPrecision(6)));
}
