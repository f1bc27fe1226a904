/**
 * SQLite implementation of the model registry. It shares the metadata database file (one file
 * to back up, and version registration can pin artifacts the metadata store's gc honours) but
 * owns its tables and migrations. Every write is one IMMEDIATE transaction, so two processes
 * registering at once still get distinct, gap-free version numbers.
 */
import type Database from "better-sqlite3";
import { SqliteMetadataStore } from "./sqlite-metadata-store.js";
import { REGISTRY_MIGRATIONS } from "./sqlite-registry-migrations.js";
import {
  checkRegistryName,
  failedGates,
  registryErrors,
  rollbackTarget,
  type AliasChange,
  type AliasChangeOptions,
  type AliasEvent,
  type AliasRecord,
  type DeployHookResult,
  type ModelSummary,
  type ModelVersionRecord,
  type PredictionLogEntry,
  type PredictionLogPrune,
  type RegisterVersionInput,
  type RegistryStore,
} from "./registry-store.js";

type Row = Record<string, any>;
const json = (v: unknown) => JSON.stringify(v ?? null);
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export interface SqliteRegistryOptions {
  /** Close the metadata store when the registry closes (for a registry opened on its own). @default false */
  closeMetadata?: boolean;
}

export class SqliteRegistryStore implements RegistryStore {
  readonly backend = "sqlite";
  private readonly db: Database.Database;
  private readonly stmts: Record<string, Database.Statement>;

  constructor(
    private readonly metadata: SqliteMetadataStore,
    private readonly opts: SqliteRegistryOptions = {},
  ) {
    this.db = metadata.database;
    this.migrate();
    const p = (sql: string) => this.db.prepare(sql);
    this.stmts = {
      versionByDigest: p(`SELECT * FROM registry_versions WHERE model = ? AND artifact_digest = ?`),
      version: p(`SELECT * FROM registry_versions WHERE model = ? AND version = ?`),
      latest: p(`SELECT COALESCE(MAX(version), 0) AS v FROM registry_versions WHERE model = ?`),
      insertVersion: p(`INSERT INTO registry_versions (model, version, artifact_digest, run_id, step_run_id, data_digests, reference_profile_digest, params, code_fingerprint, metrics, gates, gates_failed, description, created_at)
        VALUES (@model, @version, @artifact_digest, @run_id, @step_run_id, @data_digests, @reference_profile_digest, @params, @code_fingerprint, @metrics, @gates, @gates_failed, @description, @created_at)`),
      upsertModel: p(`INSERT INTO registry_models (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at`),
      touchModel: p(`UPDATE registry_models SET updated_at = ? WHERE name = ?`),
      model: p(`SELECT m.name, m.created_at, m.updated_at, COUNT(v.version) AS n, COALESCE(MAX(v.version), 0) AS latest
        FROM registry_models m LEFT JOIN registry_versions v ON v.model = m.name WHERE m.name = ? GROUP BY m.name`),
      models: p(`SELECT m.name, m.created_at, m.updated_at, COUNT(v.version) AS n, COALESCE(MAX(v.version), 0) AS latest
        FROM registry_models m LEFT JOIN registry_versions v ON v.model = m.name GROUP BY m.name ORDER BY m.name`),
      versions: p(`SELECT * FROM registry_versions WHERE model = ? ORDER BY version DESC`),
      alias: p(`SELECT * FROM registry_aliases WHERE model = ? AND alias = ?`),
      aliases: p(`SELECT * FROM registry_aliases ORDER BY model, alias`),
      aliasesOf: p(`SELECT * FROM registry_aliases WHERE model = ? ORDER BY alias`),
      upsertAlias: p(`INSERT INTO registry_aliases (model, alias, version, actor, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version, actor = excluded.actor, updated_at = excluded.updated_at`),
      deleteAlias: p(`DELETE FROM registry_aliases WHERE model = ? AND alias = ?`),
      insertEvent: p(`INSERT INTO registry_alias_history (model, alias, action, from_version, to_version, actor, reason, forced, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      event: p(`SELECT * FROM registry_alias_history WHERE id = ?`),
      history: p(`SELECT * FROM registry_alias_history WHERE model = ? ORDER BY id`),
      historyOf: p(`SELECT * FROM registry_alias_history WHERE model = ? AND alias = ? ORDER BY id`),
      revision: p(`SELECT COALESCE(MAX(id), 0) AS r FROM registry_alias_history`),
      insertLog: p(`INSERT INTO prediction_log (model, version, alias, ts, input, output, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      // Both look at the oldest @limit rows only (the id order is the log order): cost bounded per call.
      logHead: p(`SELECT (SELECT MIN(ts) FROM (SELECT ts FROM prediction_log ORDER BY id LIMIT @limit)) AS oldest_ts,
        (SELECT MIN(id) FROM prediction_log) AS lo, (SELECT MAX(id) FROM prediction_log) AS hi`),
      pruneLog: p(`DELETE FROM prediction_log WHERE id IN (SELECT id FROM prediction_log ORDER BY id LIMIT @limit)
        AND (ts < @before OR id <= (SELECT MAX(id) FROM prediction_log) - @keepRows)`),
      insertHook: p(`INSERT INTO registry_deploy_hooks (event_id, hook, ok, detail, at) VALUES (?, ?, ?, ?, ?)`),
      hooks: p(`SELECT * FROM registry_deploy_hooks WHERE event_id = ? ORDER BY rowid`),
    };
  }

  /** Opens a registry on its own metadata database file (tests, tools). */
  static open(file: string): SqliteRegistryStore {
    return new SqliteRegistryStore(new SqliteMetadataStore(file), { closeMetadata: true });
  }

  private migrate(): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS registry_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
    REGISTRY_MIGRATIONS.forEach((sql, i) => {
      const version = i + 1;
      this.db.transaction(() => {
        // Re-checked inside the write lock: another process may have migrated meanwhile.
        if (this.db.prepare(`SELECT 1 FROM registry_migrations WHERE version = ?`).get(version)) return;
        this.db.exec(sql);
        this.db.prepare(`INSERT INTO registry_migrations (version, applied_at) VALUES (?, ?)`).run(version, Date.now());
      }).immediate();
    });
  }

  async registerVersion(input: RegisterVersionInput): Promise<{ version: ModelVersionRecord; created: boolean }> {
    checkRegistryName("model", input.model);
    const result = this.db.transaction(() => {
      const existing = this.stmts.versionByDigest.get(input.model, input.artifactDigest) as Row | undefined;
      if (existing) return { version: rowToVersion(existing), created: false };
      const now = Date.now();
      const version = (this.stmts.latest.get(input.model) as Row).v + 1;
      const gates = input.gates ?? [];
      this.stmts.upsertModel.run(input.model, now, now);
      this.stmts.insertVersion.run({
        model: input.model,
        version,
        artifact_digest: input.artifactDigest,
        run_id: input.runId ?? null,
        step_run_id: input.stepRunId ?? null,
        data_digests: json(input.dataDigests ?? []),
        reference_profile_digest: input.referenceProfileDigest ?? null,
        params: json(input.params ?? {}),
        code_fingerprint: input.codeFingerprint ?? null,
        metrics: json(input.metrics ?? {}),
        gates: json(gates),
        gates_failed: failedGates(gates).length,
        description: input.description ?? null,
        created_at: now,
      });
      return { version: rowToVersion(this.stmts.version.get(input.model, version) as Row), created: true };
    }).immediate();
    // Pinned after the commit (the pin is the metadata store's); re-registering re-pins, so a
    // crash between the two heals on the pipeline's next run.
    const v = result.version;
    const owner = `model:${v.model}@${v.version}`;
    await this.metadata.pin(v.artifactDigest, owner);
    if (v.referenceProfileDigest) await this.metadata.pin(v.referenceProfileDigest, owner);
    return result;
  }

  async getVersion(model: string, ref: number | string): Promise<ModelVersionRecord | undefined> {
    let version = typeof ref === "number" ? ref : undefined;
    if (typeof ref === "string") {
      if (/^\d+$/.test(ref)) version = Number(ref);
      else version = (this.stmts.alias.get(model, ref) as Row | undefined)?.version;
    }
    if (version === undefined) return undefined;
    const row = this.stmts.version.get(model, version) as Row | undefined;
    return row ? rowToVersion(row) : undefined;
  }

  async listModels(): Promise<ModelSummary[]> {
    const aliases = (this.stmts.aliases.all() as Row[]).map(rowToAlias);
    return (this.stmts.models.all() as Row[]).map((r) => rowToSummary(r, aliases));
  }

  async getModel(model: string): Promise<ModelSummary | undefined> {
    const row = this.stmts.model.get(model) as Row | undefined;
    return row ? rowToSummary(row, (this.stmts.aliasesOf.all(model) as Row[]).map(rowToAlias)) : undefined;
  }

  async listVersions(model: string): Promise<ModelVersionRecord[]> {
    return (this.stmts.versions.all(model) as Row[]).map(rowToVersion);
  }

  async getAlias(model: string, alias: string): Promise<AliasRecord | undefined> {
    const row = this.stmts.alias.get(model, alias) as Row | undefined;
    return row ? rowToAlias(row) : undefined;
  }

  async listAliases(model?: string): Promise<AliasRecord[]> {
    return ((model === undefined ? this.stmts.aliases.all() : this.stmts.aliasesOf.all(model)) as Row[]).map(rowToAlias);
  }

  async setAlias(model: string, alias: string, version: number, opts: AliasChangeOptions = {}): Promise<AliasChange> {
    checkRegistryName("alias", alias);
    return this.db.transaction(() => {
      const target = this.requireVersion(model, version);
      const current = this.stmts.alias.get(model, alias) as Row | undefined;
      if (current?.version === version) return { alias: rowToAlias(current) };
      const failed = failedGates(target.gates);
      if (failed.length && !opts.force) throw registryErrors.gateFailed(model, version, alias, failed);
      return this.moveAlias(model, alias, "set", current?.version, version, { ...opts, force: failed.length > 0 && opts.force === true });
    }).immediate();
  }

  async rollback(model: string, alias: string, opts: Omit<AliasChangeOptions, "force"> = {}): Promise<AliasChange> {
    return this.db.transaction(() => {
      const current = this.requireAlias(model, alias);
      const target = rollbackTarget((this.stmts.historyOf.all(model, alias) as Row[]).map(rowToEvent));
      if (target === undefined || target === current.version) throw registryErrors.nothingToRollBack(model, alias);
      this.requireVersion(model, target);
      return this.moveAlias(model, alias, "rollback", current.version, target, { ...opts, force: false });
    }).immediate();
  }

  async deleteAlias(model: string, alias: string, opts: Omit<AliasChangeOptions, "force"> = {}): Promise<AliasEvent> {
    return this.db.transaction(() => {
      const current = this.requireAlias(model, alias);
      const now = Date.now();
      this.stmts.deleteAlias.run(model, alias);
      this.stmts.touchModel.run(now, model);
      const id = this.stmts.insertEvent.run(model, alias, "delete", current.version, null, opts.actor ?? "cli", opts.reason ?? null, 0, now).lastInsertRowid;
      return rowToEvent(this.stmts.event.get(id) as Row);
    }).immediate();
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    return ((alias === undefined ? this.stmts.history.all(model) : this.stmts.historyOf.all(model, alias)) as Row[]).map(rowToEvent);
  }

  async aliasRevision(): Promise<number> {
    return (this.stmts.revision.get() as Row).r as number;
  }

  async appendPredictionLogs(entries: PredictionLogEntry[]): Promise<void> {
    if (!entries.length) return;
    this.db.transaction(() => {
      for (const e of entries) this.stmts.insertLog.run(e.model, e.version, e.alias, e.ts, json(e.input), json(e.output), e.latencyMs);
    })();
  }

  async listPredictionLogs(filter: { model: string; alias?: string; limit?: number }): Promise<PredictionLogEntry[]> {
    const where = filter.alias === undefined ? `model = ?` : `model = ? AND alias = ?`;
    const args = filter.alias === undefined ? [filter.model] : [filter.model, filter.alias];
    const rows = this.db.prepare(`SELECT * FROM prediction_log WHERE ${where} ORDER BY id DESC LIMIT ${Math.max(1, filter.limit ?? 100)}`).all(...args) as Row[];
    return rows.map((r) => ({ model: r.model, version: r.version, alias: r.alias, ts: r.ts, input: JSON.parse(r.input), output: JSON.parse(r.output), latencyMs: r.latency_ms }));
  }

  async prunePredictionLogs(policy: PredictionLogPrune): Promise<number> {
    const before = policy.before ?? -Infinity;
    const keepRows = policy.keepRows ?? Number.MAX_SAFE_INTEGER;
    if (policy.limit <= 0 || (before === -Infinity && keepRows === Number.MAX_SAFE_INTEGER)) return 0;
    const limit = Math.floor(policy.limit);
    // A read first: a DELETE takes the write lock even when it matches nothing, and would wait on busy writers.
    const head = this.stmts.logHead.get({ limit }) as Row;
    if (head.hi === null || (head.oldest_ts >= before && head.hi - head.lo < keepRows)) return 0;
    return this.stmts.pruneLog.run({ limit, before, keepRows: Math.max(0, Math.floor(keepRows)) }).changes;
  }

  async recordDeployHook(r: DeployHookResult): Promise<void> {
    this.stmts.insertHook.run(r.eventId, r.hook, r.ok ? 1 : 0, r.detail ?? null, r.at);
  }

  async listDeployHooks(eventId: number): Promise<DeployHookResult[]> {
    return (this.stmts.hooks.all(eventId) as Row[]).map((r) => ({ eventId: r.event_id, hook: r.hook, ok: r.ok === 1, detail: opt(r.detail), at: r.at }));
  }

  async close(): Promise<void> {
    if (this.opts.closeMetadata) await this.metadata.close();
  }

  private requireVersion(model: string, version: number): ModelVersionRecord {
    const row = this.stmts.version.get(model, version) as Row | undefined;
    if (row) return rowToVersion(row);
    const latest = (this.stmts.latest.get(model) as Row).v as number;
    throw latest === 0 ? registryErrors.unknownModel(model) : registryErrors.unknownVersion(model, version, latest);
  }

  private requireAlias(model: string, alias: string): AliasRecord {
    const row = this.stmts.alias.get(model, alias) as Row | undefined;
    if (row) return rowToAlias(row);
    if (!(this.stmts.model.get(model) as Row | undefined)) throw registryErrors.unknownModel(model);
    throw registryErrors.unknownAlias(model, alias, (this.stmts.aliasesOf.all(model) as Row[]).map((r) => r.alias as string));
  }

  private moveAlias(model: string, alias: string, action: "set" | "rollback", from: number | undefined, to: number, opts: AliasChangeOptions): AliasChange {
    const now = Date.now();
    const actor = opts.actor ?? "cli";
    this.stmts.upsertAlias.run(model, alias, to, actor, now);
    this.stmts.touchModel.run(now, model);
    const id = this.stmts.insertEvent.run(model, alias, action, from ?? null, to, actor, opts.reason ?? null, opts.force ? 1 : 0, now).lastInsertRowid;
    return { alias: rowToAlias(this.stmts.alias.get(model, alias) as Row), event: rowToEvent(this.stmts.event.get(id) as Row) };
  }
}

function rowToVersion(r: Row): ModelVersionRecord {
  return {
    model: r.model,
    version: r.version,
    artifactDigest: r.artifact_digest,
    runId: opt(r.run_id),
    stepRunId: opt(r.step_run_id),
    dataDigests: JSON.parse(r.data_digests),
    referenceProfileDigest: opt(r.reference_profile_digest),
    params: JSON.parse(r.params),
    codeFingerprint: opt(r.code_fingerprint),
    metrics: JSON.parse(r.metrics),
    gates: JSON.parse(r.gates),
    description: opt(r.description),
    createdAt: r.created_at,
  };
}

function rowToAlias(r: Row): AliasRecord {
  return { model: r.model, alias: r.alias, version: r.version, actor: r.actor, updatedAt: r.updated_at };
}

function rowToEvent(r: Row): AliasEvent {
  return {
    id: r.id,
    model: r.model,
    alias: r.alias,
    action: r.action,
    fromVersion: opt(r.from_version),
    toVersion: opt(r.to_version),
    actor: r.actor,
    reason: opt(r.reason),
    forced: r.forced === 1,
    at: r.at,
  };
}

function rowToSummary(r: Row, aliases: AliasRecord[]): ModelSummary {
  const own = Object.fromEntries(aliases.filter((a) => a.model === r.name).map((a) => [a.alias, a.version]));
  return { name: r.name, latestVersion: r.latest, versionCount: r.n, aliases: own, createdAt: r.created_at, updatedAt: r.updated_at };
}
