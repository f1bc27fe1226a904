/**
 * Rewrites a home written before digests named their scheme (docs/digests.md): every digest the
 * metadata database stores gains its scheme, and cache keys are recomputed from the rewritten
 * key components, so steps cached before the upgrade stay cached. A scheme is taken from the
 * object itself where the store holds it (legacy-object-layout.ts), else from the artifact
 * record (a directory is a tree, a large non-JSON file a block digest), else sha256. JSON values
 * already stored keep their bytes (and so their digests); handles inside them that still carry
 * bare hex are read with the scheme their kind and size imply (see upgradeLegacyHandle).
 * One transaction, run once per database: the table `digest_schemes` marks it done.
 */
import { type DigestScheme, isLegacyDigest, SHA256, SHA256_BLOCKS, SHA256_TREE } from "../core/digest-format.js";
import { hashJson } from "../core/hash.js";
import { BLOCKED_MIN } from "./file-hash.js";

type Row = Record<string, unknown>;

/** One open transaction on the metadata database, with `?` placeholders. */
export interface MigrationSql {
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  run(sql: string, params?: unknown[]): Promise<void>;
  hasTable(name: string): Promise<boolean>;
}

export interface DigestMigrationReport {
  /** Rows whose digests gained a scheme, by table. */
  rewritten: Record<string, number>;
  /** Cache keys recomputed from rewritten components. */
  cacheKeys: number;
}

/** Whether the database still needs the migration (its marker table is absent). */
export async function needsDigestMigration(sql: MigrationSql): Promise<boolean> {
  return !(await sql.hasTable("digest_schemes"));
}

/** Rewrites every stored digest of the database inside the caller's transaction, then marks it done. */
export async function migrateDigestSchemes(
  sql: MigrationSql,
  objectSchemes: ReadonlyMap<string, DigestScheme>,
): Promise<DigestMigrationReport> {
  const report: DigestMigrationReport = { rewritten: {}, cacheKeys: 0 };
  if (await sql.hasTable("artifacts")) await rewriteDigests(sql, objectSchemes, report);
  await sql.run(`CREATE TABLE digest_schemes (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)`);
  await sql.run(`INSERT INTO digest_schemes (version, applied_at) VALUES (?, ?)`, [1, Date.now()]);
  return report;
}

async function rewriteDigests(
  sql: MigrationSql,
  objectSchemes: ReadonlyMap<string, DigestScheme>,
  report: DigestMigrationReport,
): Promise<void> {
  const known = new Map<string, string>();
  for (const [hex, scheme] of objectSchemes) known.set(hex, `${scheme}:${hex}`);
  const artifacts = await sql.all(`SELECT digest, kind, size FROM artifacts`);
  for (const a of artifacts) {
    const hex = String(a.digest);
    if (!isLegacyDigest(hex) || known.has(hex)) continue;
    const big = Number(a.size) >= BLOCKED_MIN && a.kind !== "json";
    known.set(hex, `${a.kind === "directory" ? SHA256_TREE : big ? SHA256_BLOCKS : SHA256}:${hex}`);
  }
  const sizes = new Map<string, number>();
  if (await sql.hasTable("stat_index")) {
    for (const r of await sql.all(`SELECT digest, size FROM stat_index`)) sizes.set(String(r.digest), Number(r.size));
    // A cache of file digests by path: emptied, it fills again as files are next hashed.
    await sql.run(`DELETE FROM stat_index`);
  }
  const upgrade = (d: unknown): unknown => {
    if (!isLegacyDigest(d)) return d;
    return known.get(d) ?? `${(sizes.get(d) ?? 0) >= BLOCKED_MIN ? SHA256_BLOCKS : SHA256}:${d}`;
  };

  const columns: Array<[table: string, column: string]> = [
    ["artifacts", "digest"],
    ["lineage", "digest"],
    ["pins", "digest"],
    ["registry_versions", "artifact_digest"],
    ["registry_versions", "reference_profile_digest"],
  ];
  for (const [table, column] of columns) {
    if (!(await sql.hasTable(table))) continue;
    let n = 0;
    for (const r of await sql.all(`SELECT DISTINCT ${column} AS d FROM ${table} WHERE ${column} IS NOT NULL`)) {
      const to = upgrade(r.d);
      if (to === r.d) continue;
      await sql.run(`UPDATE ${table} SET ${column} = ? WHERE ${column} = ?`, [to, r.d]);
      n++;
    }
    report.rewritten[`${table}.${column}`] = n;
  }
  if (await sql.hasTable("registry_versions")) {
    let n = 0;
    for (const r of await sql.all(`SELECT model, version, data_digests FROM registry_versions`)) {
      const before = parseJson(r.data_digests) as unknown[] | undefined;
      if (!Array.isArray(before) || !before.some(isLegacyDigest)) continue;
      const after = JSON.stringify(before.map(upgrade));
      await sql.run(`UPDATE registry_versions SET data_digests = ? WHERE model = ? AND version = ?`, [
        after,
        r.model,
        r.version,
      ]);
      n++;
    }
    report.rewritten["registry_versions.data_digests"] = n;
  }

  let steps = 0;
  const stepRuns = await sql.all(
    `SELECT id, cache_key, components, output_digest FROM step_runs
     WHERE components IS NOT NULL OR output_digest IS NOT NULL`,
  );
  for (const r of stepRuns) {
    const output = upgrade(r.output_digest ?? undefined);
    const before = parseJson(r.components) as { inputs?: Record<string, unknown>; files?: Record<string, unknown> };
    let components = before;
    let cacheKey = r.cache_key;
    if (before && typeof before === "object") {
      components = { ...before };
      if (before.inputs) components.inputs = mapValues(before.inputs, upgrade);
      if (before.files) components.files = mapValues(before.files, upgrade);
      // Only a key that is the hash of its stored components is recomputed; any other stays as it was.
      if (typeof r.cache_key === "string" && hashJson(before) === r.cache_key) {
        cacheKey = hashJson(components);
        if (cacheKey !== r.cache_key) report.cacheKeys++;
      }
    }
    const componentsText = components === undefined ? null : JSON.stringify(components);
    const unchanged = componentsText === textOf(r.components) && cacheKey === r.cache_key;
    if (unchanged && output === (r.output_digest ?? undefined)) continue;
    await sql.run(`UPDATE step_runs SET output_digest = ?, components = ?, cache_key = ? WHERE id = ?`, [
      output ?? null,
      componentsText,
      cacheKey ?? null,
      r.id,
    ]);
    steps++;
  }
  report.rewritten.step_runs = steps;
}

/**
 * A handle read from a JSON value stored before schemes carries bare hex: its scheme follows
 * from what it is (a directory is a tree; a file of 64 MiB and more a block digest).
 */
export function upgradeLegacyHandleDigest(digest: string, kind: string, size: number, isTree?: boolean): string {
  if (!isLegacyDigest(digest)) return digest;
  if (isTree ?? kind === "directory") return `${SHA256_TREE}:${digest}`;
  return `${size >= BLOCKED_MIN ? SHA256_BLOCKS : SHA256}:${digest}`;
}

function mapValues(o: Record<string, unknown>, fn: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)]));
}

function parseJson(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? v : JSON.stringify(v);
}
