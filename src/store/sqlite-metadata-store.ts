/**
 * The SQLite metadata store (better-sqlite3, WAL): every concern over one database handle, which
 * the registry and the tick ledger share as well. Each public method is one transaction, so a
 * killed process leaves either the whole record or none of it.
 */
import type Database from "better-sqlite3";
import { ComposedMetadataStore } from "./composed-metadata-store.js";
import { SqliteArtifactRecordStore } from "./sqlite-artifact-record-store.js";
import { openMetadataDatabase } from "./sqlite-metadata-database.js";
import type { SqliteOpenOptions } from "./sqlite-open.js";
import { SqliteRunStore } from "./sqlite-run-store.js";
import { SqliteStatIndexStore } from "./sqlite-stat-index-store.js";
import { SqliteStepRunStore } from "./sqlite-step-run-store.js";
import { noteCleanClose } from "./sqlite-wal-check.js";

export { sqliteNativeBinding } from "./sqlite-metadata-database.js";

export class SqliteMetadataStore extends ComposedMetadataStore {
  readonly backend = "sqlite";
  declare readonly artifactRecords: SqliteArtifactRecordStore;
  private readonly db: Database.Database;

  /** Opens or creates `file`; raises METADATA_CORRUPT when it is damaged (see sqlite-open.ts). */
  constructor(
    readonly file: string,
    opts: Omit<SqliteOpenOptions, "nativeBinding"> = {},
  ) {
    const db = openMetadataDatabase(file, opts);
    const artifactRecords = new SqliteArtifactRecordStore(db);
    super(
      new SqliteRunStore(db),
      new SqliteStepRunStore(db, artifactRecords),
      artifactRecords,
      new SqliteStatIndexStore(db),
    );
    this.db = db;
  }

  /** The shared handle, for the other stores of this database (registry, tick ledger). */
  get database(): Database.Database {
    return this.db;
  }

  /** For a process that exits without closing (no checkpoint on its critical path): its log is whole. */
  noteCleanExit(): void {
    if (this.db.open && this.file !== ":memory:") noteCleanClose(`${this.file}-wal`);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.close();
    if (this.file !== ":memory:") noteCleanClose(`${this.file}-wal`);
  }

  /** Keeps an artifact alive for gc on behalf of an owner (e.g. "model:flights@3"). */
  pin(digest: string, owner: string): Promise<void> {
    return this.artifactRecords.pin(digest, owner);
  }
}
