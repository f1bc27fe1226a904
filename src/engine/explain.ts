/**
 * Explains cache decisions: given the key components of a step now and in an earlier run, says
 * exactly what changed ("param `lr` changed 0.1 -> 0.05", "input `raw` changed: a1b2.. -> c3d4..,
 * +31,204 rows").
 */
import { shortDigest } from "../core/hash.js";
import type { ArtifactRecord, KeyComponents } from "../store/metadata-store.js";

export type ArtifactLookup = (digest: string) => Promise<ArtifactRecord | undefined>;

export async function explainChange(
  prev: KeyComponents,
  cur: KeyComponents,
  lookup?: ArtifactLookup,
): Promise<string[]> {
  const out: string[] = [];
  if (prev.engine !== cur.engine) out.push(`engine cache version changed ${prev.engine} -> ${cur.engine}`);
  if (prev.code !== cur.code)
    out.push(`code changed (fingerprint ${shortDigest(prev.code)} -> ${shortDigest(cur.code)})`);
  if (prev.version !== cur.version)
    out.push(`version bumped ${JSON.stringify(prev.version)} -> ${JSON.stringify(cur.version)}`);
  if (prev.config !== cur.config) out.push(`step configuration changed`);
  for (const key of union(prev.params, cur.params)) {
    const a = prev.params[key];
    const b = cur.params[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (!(key in prev.params)) out.push(`param \`${key}\` is now read (= ${fmt(b)})`);
    else if (!(key in cur.params)) out.push(`param \`${key}\` is no longer read (was ${fmt(a)})`);
    else out.push(`param \`${key}\` changed ${fmt(a)} -> ${fmt(b)}`);
  }
  for (const key of union(prev.inputs, cur.inputs)) {
    const a = prev.inputs[key];
    const b = cur.inputs[key];
    if (a === b) continue;
    if (a === undefined) out.push(`input \`${key}\` was added`);
    else if (b === undefined) out.push(`input \`${key}\` was removed`);
    else
      out.push(
        `input \`${key}\` changed: digest ${shortDigest(a)}.. -> ${shortDigest(b)}..${await rowDelta(a, b, lookup)}`,
      );
  }
  for (const key of union(prev.files ?? {}, cur.files ?? {})) {
    const a = prev.files?.[key];
    const b = cur.files?.[key];
    if (a === b) continue;
    out.push(
      a === undefined
        ? `file ${key} is now used`
        : b === undefined
          ? `file ${key} is no longer used`
          : `file ${key} changed: ${shortDigest(a)}.. -> ${shortDigest(b)}..`,
    );
  }
  if (prev.item !== cur.item)
    out.push(`map item changed: ${shortDigest(prev.item ?? "")}.. -> ${shortDigest(cur.item ?? "")}..`);
  return out;
}

async function rowDelta(a: string, b: string, lookup?: ArtifactLookup): Promise<string> {
  if (!lookup) return "";
  const [ra, rb] = await Promise.all([lookup(a), lookup(b)]);
  const rows = (r?: ArtifactRecord) => (typeof r?.meta.rows === "number" ? r.meta.rows : undefined);
  const na = rows(ra);
  const nb = rows(rb);
  if (na === undefined || nb === undefined) return "";
  const d = nb - na;
  return `, ${d >= 0 ? "+" : "-"}${Math.abs(d).toLocaleString("en-US")} rows`;
}

function union(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

function fmt(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "undefined" : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
