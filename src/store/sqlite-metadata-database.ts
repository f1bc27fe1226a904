/**
 * The one SQLite database every metadata concern of a home shares (runs, step runs, artifact
 * records, the stat index, and the registry and tick ledger beside them): opened once, in WAL
 * mode, with the metadata schema migrated.
 */
import type Database from "better-sqlite3";
import { createRequire } from "node:module";
import { SQLITE_MIGRATIONS } from "./sqlite-migrations.js";
import { guardCorruption, openSqliteDatabase, type SqliteOpenOptions } from "./sqlite-open.js";
import type { Row } from "./sqlite-metadata-rows.js";

let addonPath: string | null | undefined;

/**
 * The path of better-sqlite3's compiled addon, resolved once. Without it better-sqlite3 searches
 * about a dozen candidate paths through the `bindings` package on first use, which cost every
 * CLI command a few milliseconds.
 */
export function sqliteNativeBinding(): string | undefined {
  if (addonPath === undefined) {
    try {
      addonPath = createRequire(import.meta.url).resolve("better-sqlite3/build/Release/better_sqlite3.node");
    } catch {
      addonPath = null;
    }
  }
  return addonPath ?? undefined;
}

/** Opens or creates `file` and migrates it; raises METADATA_CORRUPT when it is damaged (see sqlite-open.ts). */
export function openMetadataDatabase(
  file: string,
  opts: Omit<SqliteOpenOptions, "nativeBinding"> = {},
): Database.Database {
  const db = openSqliteDatabase(file, { ...opts, nativeBinding: sqliteNativeBinding() });
  guardCorruption(file, () => migrate(db));
  return db;
}

function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  const done = new Set(
    (db.prepare(`SELECT version FROM schema_migrations`).all() as Row[]).map((r) => r.version as number),
  );
  SQLITE_MIGRATIONS.forEach((sql, i) => {
    const version = i + 1;
    if (done.has(version)) return;
    db.transaction(() => {
      // Re-checked inside the write lock: another process may have migrated meanwhile.
      if (db.prepare(`SELECT 1 FROM schema_migrations WHERE version = ?`).get(version)) return;
      db.exec(sql);
      db.prepare(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`).run(version, Date.now());
    }).immediate();
  });
}
