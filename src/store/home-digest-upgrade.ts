/**
 * Brings a home written before digests named their scheme up to date, once: tree and block
 * objects move to their scheme's directory, then the metadata database (SQLite or PostgreSQL)
 * is rewritten in one transaction (digest-scheme-migration.ts). A marker file next to the
 * objects makes every later open a single stat.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TrainyardError } from "../core/errors.js";
import { type DigestMigrationReport, type MigrationSql, migrateDigestSchemes } from "./digest-scheme-migration.js";
import { migrateLegacyObjects } from "./legacy-object-layout.js";

export type UpgradeMetadataSpec = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string; schema?: string };

const MARKER = "digest-schemes";

/** Upgrades the home whose objects live under `artifactsRoot`; undefined when it was already done. */
export async function upgradeHomeDigests(
  metadata: UpgradeMetadataSpec,
  artifactsRoot: string,
): Promise<DigestMigrationReport | undefined> {
  const marker = join(artifactsRoot, MARKER);
  if (existsSync(marker)) return undefined;
  const schemes = await migrateLegacyObjects(join(artifactsRoot, "objects"));
  let report: DigestMigrationReport | undefined;
  try {
    report =
      metadata.kind === "sqlite"
        ? await upgradeSqlite(metadata.file, schemes)
        : await upgradePostgres(metadata, schemes);
  } catch (err) {
    // A damaged database is reported as the regular open reports it: the file and how to recover.
    if (err instanceof TrainyardError && err.code === "METADATA_CORRUPT") throw err;
    throw new TrainyardError(
      "METADATA_CORRUPT",
      `could not name the scheme of this home's digests: ${(err as Error).message}`,
      {
        cause: err,
        hint: "nothing was changed in the metadata; fix the cause and open the home again (docs/digests.md)",
      },
    );
  }
  await mkdir(artifactsRoot, { recursive: true });
  await writeFile(marker, "1\n");
  return report;
}

async function upgradeSqlite(
  file: string,
  schemes: Parameters<typeof migrateDigestSchemes>[1],
): Promise<DigestMigrationReport | undefined> {
  if (!existsSync(file)) return undefined;
  const { sqliteNativeBinding } = await import("./sqlite-metadata-database.js");
  const { openSqliteDatabase } = await import("./sqlite-open.js");
  // The regular open: a torn write-ahead log is warned of before SQLite replays it, damage is named.
  const db = openSqliteDatabase(file, { nativeBinding: sqliteNativeBinding() });
  try {
    const sql: MigrationSql = {
      all: async (text, params = []) => db.prepare(text).all(...params) as Record<string, unknown>[],
      run: async (text, params = []) => {
        db.prepare(text).run(...params);
      },
      hasTable: async (name) =>
        db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined,
    };
    if (await sql.hasTable("digest_schemes")) return undefined;
    // Every statement below is synchronous underneath: nothing else runs inside this transaction.
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process opening the same home may have migrated it while this one waited for the lock.
      if (await sql.hasTable("digest_schemes")) {
        db.exec("COMMIT");
        return undefined;
      }
      const report = await migrateDigestSchemes(sql, schemes);
      db.exec("COMMIT");
      return report;
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  } finally {
    db.close();
  }
}

async function upgradePostgres(
  spec: { url: string; schema?: string },
  schemes: Parameters<typeof migrateDigestSchemes>[1],
): Promise<DigestMigrationReport | undefined> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: spec.url, options: `-c search_path=${spec.schema ?? "public"}` });
  client.on("error", () => undefined); // a connection lost mid-statement fails that statement instead
  await client.connect();
  try {
    const numbered = (text: string) => {
      let i = 0;
      return text.replace(/\?/g, () => `$${++i}`);
    };
    const sql: MigrationSql = {
      all: async (text, params = []) => (await client.query(numbered(text), params)).rows,
      run: async (text, params = []) => {
        await client.query(numbered(text), params);
      },
      hasTable: async (name) =>
        (await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [name])).rows[0].present === true,
    };
    // A schema no store has opened yet is created as the metadata store's open creates it (then marked).
    if (spec.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${spec.schema}`);
    await client.query("BEGIN");
    try {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('trainyard.digest-schemes.' || current_schema()))`);
      if (await sql.hasTable("digest_schemes")) {
        await client.query("COMMIT");
        return undefined;
      }
      const report = await migrateDigestSchemes(sql, schemes);
      await client.query("COMMIT");
      return report;
    } catch (err) {
      await client.query("ROLLBACK");
      throw err;
    }
  } finally {
    await client.end();
  }
}
