/** The file stat index on PostgreSQL: (path, size, mtime, inode) to the digest last read from that file. */
import type pg from "pg";
import type { StatEntry } from "./metadata-records.js";
import type { StatIndexStore } from "./metadata-store.js";

const PUT_STAT = `INSERT INTO stat_index (path, size, mtime_ms, ino, digest) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (path) DO UPDATE SET size = EXCLUDED.size, mtime_ms = EXCLUDED.mtime_ms, ino = EXCLUDED.ino,
    digest = EXCLUDED.digest`;

export class PostgresStatIndexStore implements StatIndexStore {
  constructor(private readonly pool: pg.Pool) {}

  async getStat(path: string): Promise<StatEntry | undefined> {
    const [r] = (await this.pool.query(`SELECT * FROM stat_index WHERE path = $1`, [path])).rows;
    return r ? { path: r.path, size: r.size, mtimeMs: r.mtime_ms, ino: r.ino, digest: r.digest } : undefined;
  }

  async putStat(e: StatEntry): Promise<void> {
    await this.pool.query(PUT_STAT, [e.path, e.size, e.mtimeMs, e.ino, e.digest]);
  }
}
