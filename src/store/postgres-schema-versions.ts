/**
 * A PostgreSQL store's schema versions: its ordered migrations, each applied once, recorded in the
 * store's own version table (so stores sharing a schema, or a database shared with other software,
 * never mistake each other's versions). Run in the caller's transaction, under its advisory lock.
 */
import type { Queryable, Row } from "./postgres-rows.js";

export async function applyMigrations(c: Queryable, table: string, migrations: readonly string[]): Promise<void> {
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)`,
  );
  const done = new Set((await c.query(`SELECT version FROM ${table}`)).rows.map((r: Row) => Number(r.version)));
  for (const [i, sql] of migrations.entries()) {
    if (done.has(i + 1)) continue;
    await c.query(sql);
    await c.query(`INSERT INTO ${table} (version, applied_at) VALUES ($1, $2)`, [i + 1, Date.now()]);
  }
}
