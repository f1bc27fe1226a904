/**
 * Drafting a contract from data: `inferContract` profiles a dataset and proposes rules a person
 * then edits — types, nullability, observed ranges widened a little, the allowed values of
 * low-cardinality text, uniqueness — and `renderContractModule` prints it as a TypeScript module.
 */
import { logicalTypeOf } from "./column-kind.js";
import type { ColumnContract, Contract } from "./contract.js";
import { resolveSource, type DataSource } from "./data-source.js";
import { listSourceFiles } from "./ingest-files.js";
import { profileDataset, type ColumnProfile, type Profile } from "./profile.js";

export interface InferOptions {
  /** Widen observed numeric ranges by this fraction of the range on each side. @default 0.1 */
  widen?: number;
  /** Text columns with at most this many distinct values get `allowedValues`. @default 20 */
  maxAllowedValues?: number;
  /** Contract name. @default the source label */
  name?: string;
}

export async function inferContract(source: DataSource | Profile, opts: InferOptions = {}): Promise<Contract> {
  const profile = isProfile(source)
    ? source
    : await profileDataset(source, { topK: Math.max(opts.maxAllowedValues ?? 20, 20) });
  const columns: Record<string, ColumnContract> = {};
  for (const col of profile.columns) columns[col.name] = inferColumn(col, profile.rowCount, opts);
  return { name: opts.name ?? profile.source, columns, table: { minRows: profile.rowCount > 0 ? 1 : 0 } };
}

/**
 * Drafts one contract from several files, directories of partitions or globs (`landing/*.csv`),
 * read together as one table (columns matched by name), so a range covers every partition.
 */
export async function inferContractFromFiles(paths: readonly string[], opts: InferOptions = {}): Promise<Contract> {
  const files: string[] = [];
  for (const p of paths) for (const f of await listSourceFiles(p)) if (!files.includes(f)) files.push(f);
  if (files.length === 1) return inferContract(files[0], opts);
  const sql = files.map((f) => `SELECT * FROM ${resolveSource(f).relation}`).join(" UNION ALL BY NAME ");
  const label = `${files.length} files (${files.slice(0, 3).join(", ")}${files.length > 3 ? ", ..." : ""})`;
  return inferContract({ sql, label }, { ...opts, name: opts.name ?? label });
}

function isProfile(x: unknown): x is Profile {
  return typeof x === "object" && x !== null && (x as Profile).kind === "trainyard.profile";
}

function inferColumn(col: ColumnProfile, rows: number, opts: InferOptions): ColumnContract {
  const out: ColumnContract = { type: logicalTypeOf(col.type) ?? col.type };
  if (col.nullCount === 0) out.nullable = false;
  else out.maxNullFraction = roundUp(Math.min(1, (col.nullCount / Math.max(rows, 1)) * 1.5), 3);
  if (col.kind === "numeric" && typeof col.min === "number" && typeof col.max === "number") {
    const pad = (col.max - col.min) * (opts.widen ?? 0.1);
    const integer = out.type === "integer";
    const lo = col.min - pad;
    const hi = col.max + pad;
    // Do not invent negative values for a column that never had any.
    out.min = col.min >= 0 && lo < 0 ? 0 : integer ? Math.floor(lo) : niceFloor(lo);
    out.max = integer ? Math.ceil(hi) : niceCeil(hi);
  }
  if (
    col.kind === "categorical" &&
    col.topK &&
    col.topK.otherDistinct === 0 &&
    col.topK.values.length <= (opts.maxAllowedValues ?? 20) &&
    col.topK.values.length > 0 &&
    col.type !== "BOOLEAN"
  ) {
    out.allowedValues = col.topK.values.map((v) => v.value).sort();
  }
  if (col.distinctCount !== null && col.count > 1 && col.distinctCount === col.count && col.kind !== "temporal")
    out.unique = true;
  return out;
}

function roundUp(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.ceil(x * f) / f;
}

function niceFloor(x: number): number {
  return Number(x.toPrecision(6)) > x ? Number((x - Math.abs(x) * 1e-6).toPrecision(6)) : Number(x.toPrecision(6));
}

function niceCeil(x: number): number {
  return Number(x.toPrecision(6)) < x ? Number((x + Math.abs(x) * 1e-6).toPrecision(6)) : Number(x.toPrecision(6));
}

/** TypeScript source for a contract module a person can edit and commit. */
export function renderContractModule(
  contract: Contract,
  opts: { importFrom?: string; exportName?: string } = {},
): string {
  const from = opts.importFrom ?? "trainyard/data";
  const name = opts.exportName ?? "contract";
  return [
    `import type { Contract } from ${JSON.stringify(from)};`,
    "",
    `/** Data contract${contract.name ? ` for ${contract.name}` : ""}. Drafted by inferContract; ` +
      `edit the rules to what must hold. */`,
    `export const ${name}: Contract = ${renderValue(contract, 0)};`,
    "",
    `export default ${name};`,
    "",
  ].join("\n");
}

function renderValue(v: unknown, depth: number): string {
  const pad = "  ".repeat(depth + 1);
  const end = "  ".repeat(depth);
  if (Array.isArray(v)) {
    const items = v.map((x) => renderValue(x, depth + 1));
    const flat = `[${items.join(", ")}]`;
    return flat.length <= 80 ? flat : `[\n${items.map((i) => pad + i).join(",\n")},\n${end}]`;
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    const lines = entries.map(
      ([k, x]) => `${pad}${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${renderValue(x, depth + 1)},`,
    );
    return `{\n${lines.join("\n")}\n${end}}`;
  }
  return JSON.stringify(v);
}
