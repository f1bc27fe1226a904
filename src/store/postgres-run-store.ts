/** Pipelines, runs and run leases on PostgreSQL. */
import type pg from "pg";
import type { RunFilter, RunLease, RunRecord } from "./metadata-records.js";
import type { RunStore } from "./metadata-store.js";
import { LISTED_MATCHES, pickRunByPrefix, prefixMatchOf } from "./run-id-prefix.js";
import { likeEscape } from "./postgres-metadata-database.js";
import { LEASE_COLUMNS, leaseValues, type Row, rowToLease, rowToRun, runColumns } from "./postgres-rows.js";
import { inTransaction } from "./postgres-transaction.js";

// The conditional update takes the row lock: a concurrent claim waits, then sees the new token.
const CLAIM_LEASE = `INSERT INTO run_leases (${LEASE_COLUMNS.join(", ")})
  VALUES (${LEASE_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})
  ON CONFLICT (run_id) DO UPDATE SET ${LEASE_COLUMNS.slice(1)
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(", ")}
  WHERE run_leases.token = $${LEASE_COLUMNS.length + 1}
  RETURNING *`;
// One statement: every sub-delete reads the same snapshot, so the step runs are still there to select by.
const DELETE_RUNS = `WITH
  l AS (DELETE FROM logs WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ANY($1::text[]))),
  a AS (DELETE FROM attempts WHERE step_run_id IN (SELECT id FROM step_runs WHERE run_id = ANY($1::text[]))),
  e AS (DELETE FROM lineage WHERE run_id = ANY($1::text[])),
  m AS (DELETE FROM metrics WHERE run_id = ANY($1::text[])),
  t AS (DELETE FROM run_tags WHERE run_id = ANY($1::text[])),
  s AS (DELETE FROM step_runs WHERE run_id = ANY($1::text[])),
  r AS (DELETE FROM runs WHERE id = ANY($1::text[]))
  DELETE FROM run_leases WHERE run_id = ANY($1::text[])`;

// The newest matches, with how many there are and each one's neighbours in byte order of ids (for
// RUN_AMBIGUOUS): a locale collation could put ids sharing a longer prefix apart.
const RUNS_BY_PREFIX = `SELECT * FROM (
    SELECT runs.*, COUNT(*) OVER () AS match_count,
      LAG(id) OVER (ORDER BY id COLLATE "C") AS previous_id, LEAD(id) OVER (ORDER BY id COLLATE "C") AS next_id
    FROM runs WHERE id LIKE $1
  ) matches ORDER BY created_at DESC, seq DESC LIMIT ${LISTED_MATCHES + 1}`;

export class PostgresRunStore implements RunStore {
  constructor(private readonly pool: pg.Pool) {}

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows;
  }

  async upsertPipeline(name: string, modulePath: string): Promise<void> {
    await this.rows(
      `INSERT INTO pipelines (name, module_path, updated_at) VALUES ($1, $2, $3)
      ON CONFLICT (name) DO UPDATE SET module_path = EXCLUDED.module_path, updated_at = EXCLUDED.updated_at`,
      [name, modulePath, Date.now()],
    );
  }

  async listPipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>> {
    const rows = await this.rows("SELECT name, module_path, updated_at FROM pipelines ORDER BY updated_at DESC");
    return rows.map((r) => ({
      name: String(r.name),
      modulePath: String(r.module_path),
      updatedAt: Number(r.updated_at),
    }));
  }

  async createRun(run: RunRecord): Promise<void> {
    const cols = runColumns(run);
    const marks = Object.keys(cols).map((_, i) => `$${i + 1}`);
    const inserted = await this.rows(
      `INSERT INTO runs (${Object.keys(cols).join(", ")}) VALUES (${marks.join(", ")})
      ON CONFLICT (id) DO NOTHING RETURNING id`,
      Object.values(cols),
    );
    if (inserted.length) return;
    // Sent again after its answer was lost (postgres-reconnect.ts), the insert meets the row it wrote.
    const [row] = await this.rows(`SELECT pipeline, created_at, code_version FROM runs WHERE id = $1`, [run.id]);
    const own =
      row?.pipeline === run.pipeline &&
      Number(row.created_at) === run.createdAt &&
      row.code_version === run.codeVersion;
    if (!own) throw Object.assign(new Error(`run ${run.id} exists already`), { code: "23505" });
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    // A key present with `undefined` clears the column (e.g. a resumed run's old error).
    const cols = Object.entries(runColumns({ ...(patch as RunRecord), id }, Object.keys(patch)));
    if (!cols.length) return;
    await this.rows(`UPDATE runs SET ${cols.map(([c], i) => `${c} = $${i + 2}`).join(", ")} WHERE id = $1`, [
      id,
      ...cols.map(([, v]) => v),
    ]);
  }

  async getRun(idOrPrefix: string): Promise<RunRecord | undefined> {
    const [exact] = await this.rows(`SELECT * FROM runs WHERE id = $1`, [idOrPrefix]);
    if (exact) return rowToRun(exact);
    const rows = await this.rows(RUNS_BY_PREFIX, [`${likeEscape(idOrPrefix)}%`]);
    return pickRunByPrefix(idOrPrefix, rows.map(prefixMatchOf(rowToRun)));
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.pipeline) args.push(filter.pipeline), where.push(`pipeline = $${args.length}`);
    if (filter.status) args.push(filter.status), where.push(`status = $${args.length}`);
    if (filter.trigger) {
      // A kind ("schedule") matches its named triggers ("schedule:nightly"), not "scheduler".
      args.push(filter.trigger, `${filter.trigger}:`);
      where.push(`(trigger = $${args.length - 1} OR left(trigger, length($${args.length})) = $${args.length})`);
    }
    if (filter.createdAtMost !== undefined) {
      args.push(filter.createdAtMost);
      where.push(`created_at <= $${args.length}`);
    }
    args.push(Math.max(1, filter.limit ?? 50));
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, seq DESC LIMIT $${args.length}`;
    return (await this.rows(sql, args)).map(rowToRun);
  }

  async deleteRuns(runIds: string[]): Promise<void> {
    if (runIds.length) await this.rows(DELETE_RUNS, [runIds]);
  }

  async claimRunLease(lease: RunLease, replacing?: string): Promise<RunLease> {
    // Two statements: the second reads a fresh snapshot, so it sees a holder that committed meanwhile.
    return inTransaction(this.pool, async (c) => {
      const [taken] = (await c.query(CLAIM_LEASE, [...leaseValues(lease), replacing ?? null])).rows;
      return rowToLease(taken ?? (await c.query(`SELECT * FROM run_leases WHERE run_id = $1`, [lease.runId])).rows[0]);
    });
  }

  async getRunLease(runId: string): Promise<RunLease | undefined> {
    const [row] = await this.rows(`SELECT * FROM run_leases WHERE run_id = $1`, [runId]);
    return row ? rowToLease(row) : undefined;
  }

  async renewRunLease(runId: string, token: string, now: number): Promise<boolean> {
    const sql = `UPDATE run_leases SET heartbeat_at = $3 WHERE run_id = $1 AND token = $2`;
    return (await this.pool.query(sql, [runId, token, now])).rowCount === 1;
  }

  async releaseRunLease(runId: string, token: string): Promise<void> {
    await this.rows(`DELETE FROM run_leases WHERE run_id = $1 AND token = $2`, [runId, token]);
  }

  async markRunInterrupted(runId: string, deadToken: string, finishedAt: number): Promise<boolean> {
    // The second condition is this very change, sent again after its answer was lost (postgres-reconnect.ts).
    const sql = `UPDATE runs SET status = 'interrupted', finished_at = $3 WHERE id = $1
      AND (status = 'running' OR (status = 'interrupted' AND finished_at = $3))
      AND EXISTS (SELECT 1 FROM run_leases WHERE run_id = $1 AND token = $2)`;
    return (await this.pool.query(sql, [runId, deadToken, finishedAt])).rowCount === 1;
  }
}
