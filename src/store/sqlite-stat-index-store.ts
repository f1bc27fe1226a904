/** The file stat index on SQLite: (path, size, mtime, inode) to the digest last read from that file. */
import type Database from "better-sqlite3";
import type { StatEntry } from "./metadata-records.js";
import type { StatIndexStore } from "./metadata-store.js";
import type { Row } from "./sqlite-metadata-rows.js";

export class SqliteStatIndexStore implements StatIndexStore {
  private readonly getStmt: Database.Statement;
  private readonly putStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare(`SELECT * FROM stat_index WHERE path = ?`);
    this.putStmt = db.prepare(
      `INSERT OR REPLACE INTO stat_index (path, size, mtime_ms, ino, digest) VALUES (?, ?, ?, ?, ?)`,
    );
  }

  async getStat(path: string): Promise<StatEntry | undefined> {
    const r = this.getStmt.get(path) as Row | undefined;
    return r ? { path: r.path, size: r.size, mtimeMs: r.mtime_ms, ino: r.ino, digest: r.digest } : undefined;
  }

  async putStat(e: StatEntry): Promise<void> {
    this.putStmt.run(e.path, e.size, e.mtimeMs, e.ino, e.digest);
  }
}
