/** Pipelines, runs and run leases on SQLite; each method is one transaction. */
import type Database from "better-sqlite3";
import type { RunFilter, RunLease, RunRecord } from "./metadata-records.js";
import type { RunStore } from "./metadata-store.js";
import { LISTED_MATCHES, pickRunByPrefix, prefixMatchOf } from "./run-id-prefix.js";
import { camel, leaseParams, likeEscape, type Row, rowToLease, rowToRun, runToRow } from "./sqlite-metadata-rows.js";

const RUN_COLUMNS = `id, pipeline, module_path, params, profile, trigger, status, code_version, created_at, started_at,
  finished_at, error, options, pid, bundle_digest, steps`;

// The newest matches, with how many there are and each one's neighbours in id order (for RUN_AMBIGUOUS).
// SQLite's LIKE ignores case; the substr test makes the match case-sensitive, as on PostgreSQL.
const RUNS_BY_PREFIX = `SELECT * FROM (
    SELECT runs.*, COUNT(*) OVER () AS match_count,
      LAG(id) OVER (ORDER BY id) AS previous_id, LEAD(id) OVER (ORDER BY id) AS next_id
    FROM runs WHERE id LIKE @pattern ESCAPE '\\' AND substr(id, 1, length(@prefix)) = @prefix
  ) ORDER BY created_at DESC, id DESC LIMIT ${LISTED_MATCHES + 1}`;

export class SqliteRunStore implements RunStore {
  private readonly stmts: Record<string, Database.Statement>;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.stmts = {
      upsertPipeline: p(`INSERT INTO pipelines (name, module_path, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET module_path = excluded.module_path, updated_at = excluded.updated_at`),
      insertRun: p(
        `INSERT INTO runs (${RUN_COLUMNS}) VALUES (${RUN_COLUMNS.split(",")
          .map((c) => `@${c.trim()}`)
          .join(", ")})`,
      ),
      getRun: p(`SELECT * FROM runs WHERE id = ?`),
      getRunPrefix: p(RUNS_BY_PREFIX),
      claimLease: p(`INSERT INTO run_leases (run_id, pid, host, boot_id, start_ticks, token, acquired_at, heartbeat_at)
        VALUES (@run_id, @pid, @host, @boot_id, @start_ticks, @token, @acquired_at, @heartbeat_at)
        ON CONFLICT(run_id) DO UPDATE SET pid = excluded.pid, host = excluded.host, boot_id = excluded.boot_id,
          start_ticks = excluded.start_ticks, token = excluded.token, acquired_at = excluded.acquired_at,
          heartbeat_at = excluded.heartbeat_at
        WHERE run_leases.token = @replacing`),
      getLease: p(`SELECT * FROM run_leases WHERE run_id = ?`),
      renewLease: p(`UPDATE run_leases SET heartbeat_at = ? WHERE run_id = ? AND token = ?`),
      releaseLease: p(`DELETE FROM run_leases WHERE run_id = ? AND token = ?`),
      markInterrupted: p(`UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ? AND status = 'running'
        AND EXISTS (SELECT 1 FROM run_leases WHERE run_id = ? AND token = ?)`),
    };
  }

  async upsertPipeline(name: string, modulePath: string): Promise<void> {
    this.stmts.upsertPipeline.run(name, modulePath, Date.now());
  }

  async listPipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>> {
    const rows = this.db
      .prepare("SELECT name, module_path, updated_at FROM pipelines ORDER BY updated_at DESC")
      .all() as Row[];
    return rows.map((r) => ({
      name: String(r.name),
      modulePath: String(r.module_path),
      updatedAt: Number(r.updated_at),
    }));
  }

  async createRun(run: RunRecord): Promise<void> {
    this.stmts.insertRun.run(runToRow(run));
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    const row = runToRow({ ...(patch as RunRecord), id });
    // A key present with `undefined` clears the column (e.g. a resumed run's old error).
    const cols = Object.keys(row).filter((k) => k !== "id" && camel(k) in (patch as Row));
    if (!cols.length) return;
    this.db.prepare(`UPDATE runs SET ${cols.map((c) => `${c} = @${c}`).join(", ")} WHERE id = @id`).run(row);
  }

  async getRun(idOrPrefix: string): Promise<RunRecord | undefined> {
    const exact = this.stmts.getRun.get(idOrPrefix) as Row | undefined;
    if (exact) return rowToRun(exact);
    const rows = this.stmts.getRunPrefix.all({ pattern: `${likeEscape(idOrPrefix)}%`, prefix: idOrPrefix }) as Row[];
    return pickRunByPrefix(idOrPrefix, rows.map(prefixMatchOf(rowToRun)));
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.pipeline) where.push("pipeline = ?"), args.push(filter.pipeline);
    if (filter.status) where.push("status = ?"), args.push(filter.status);
    if (filter.trigger) {
      // A kind ("schedule") matches its named triggers ("schedule:nightly"), not "scheduler".
      where.push("(trigger = ? OR substr(trigger, 1, ?) = ?)");
      args.push(filter.trigger, filter.trigger.length + 1, `${filter.trigger}:`);
    }
    if (filter.createdAtMost !== undefined) where.push("created_at <= ?"), args.push(filter.createdAtMost);
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY created_at DESC, rowid DESC LIMIT ${Math.max(1, filter.limit ?? 50)}`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(rowToRun);
  }

  async deleteRuns(runIds: string[]): Promise<void> {
    const ofStepRuns = `step_run_id IN (SELECT id FROM step_runs WHERE run_id = ?)`;
    const deletes = [
      `DELETE FROM logs WHERE ${ofStepRuns}`,
      `DELETE FROM attempts WHERE ${ofStepRuns}`,
      `DELETE FROM lineage WHERE run_id = ?`,
      `DELETE FROM metrics WHERE run_id = ?`,
      `DELETE FROM run_tags WHERE run_id = ?`,
      `DELETE FROM step_runs WHERE run_id = ?`,
      `DELETE FROM runs WHERE id = ?`,
      `DELETE FROM run_leases WHERE run_id = ?`,
    ].map((sql) => this.db.prepare(sql));
    this.db.transaction(() => {
      for (const id of runIds) for (const stmt of deletes) stmt.run(id);
    })();
  }

  async claimRunLease(lease: RunLease, replacing?: string): Promise<RunLease> {
    // IMMEDIATE: the write lock is taken before the read, so two claimants never both win.
    return this.db
      .transaction(() => {
        this.stmts.claimLease.run({ ...leaseParams(lease), replacing: replacing ?? null });
        return rowToLease(this.stmts.getLease.get(lease.runId) as Row);
      })
      .immediate();
  }

  async getRunLease(runId: string): Promise<RunLease | undefined> {
    const row = this.stmts.getLease.get(runId) as Row | undefined;
    return row ? rowToLease(row) : undefined;
  }

  async renewRunLease(runId: string, token: string, now: number): Promise<boolean> {
    return this.stmts.renewLease.run(now, runId, token).changes === 1;
  }

  async releaseRunLease(runId: string, token: string): Promise<void> {
    this.stmts.releaseLease.run(runId, token);
  }

  async markRunInterrupted(runId: string, deadToken: string, finishedAt: number): Promise<boolean> {
    return this.stmts.markInterrupted.run(finishedAt, runId, runId, deadToken).changes === 1;
  }
}
