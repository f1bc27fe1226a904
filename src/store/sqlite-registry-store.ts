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
  planAliasSet,
  registryErrors,
  rollbackPin,
  rollbackTarget,
  type AliasChange,
  type AliasChangeOptions,
  type AliasEvent,
  type AliasPin,
  type AliasRecord,
  type DeployHookResult,
  type ModelSummary,
  type ModelVersionRecord,
  type PredictionLogEntry,
  type PredictionLogPrune,
  type PredictionLogRange,
  type RegisterVersionInput,
  type RegistryStore,
  type RollbackOptions,
  type UnpinOptions,
  metricsProvenance,
} from "./registry-store.js";

type Row = Record<string, any>;
/** How long a registry write waits for another connection's lock, as the metadata store does. */
const BUSY_TIMEOUT_MS = 10_000;
const json = (v: unknown) => JSON.stringify(v ?? null);
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

export interface SqliteRegistryOptions {
  /** Close the metadata store when the registry closes (for a registry opened on its own). @default false */
  closeMetadata?: boolean;
}

export class SqliteRegistryStore implements RegistryStore {
  readonly backend = "sqlite";
  private readonly db: Database.Database;
  private prepared?: Record<string, Database.Statement>;
  /** Migrations start with the constructor (openRegistry is synchronous); every call awaits them. */
  private readonly ready: Promise<void>;

  constructor(
    private readonly metadata: SqliteMetadataStore,
    private readonly opts: SqliteRegistryOptions = {},
  ) {
    this.db = metadata.database;
    this.ready = this.migrate();
    this.ready.catch(() => undefined); // reported by the first call that needs the tables
  }

  private get stmts(): Record<string, Database.Statement> {
    this.prepared ??= this.prepare();
    return this.prepared;
  }

  private prepare(): Record<string, Database.Statement> {
    const p = (sql: string) => this.db.prepare(sql);
    return {
      versionByDigest: p(`SELECT * FROM registry_versions WHERE model = ? AND artifact_digest = ?`),
      version: p(`SELECT * FROM registry_versions WHERE model = ? AND version = ?`),
      latest: p(`SELECT COALESCE(MAX(version), 0) AS v FROM registry_versions WHERE model = ?`),
      insertVersion:
        p(`INSERT INTO registry_versions (model, version, artifact_digest, run_id, step_run_id, data_digests,
          reference_profile_digest, params, code_fingerprint, metrics, gates, gates_failed, description,
            created_at, metrics_measured_at, metrics_run_id)
        VALUES (@model, @version, @artifact_digest, @run_id, @step_run_id, @data_digests,
          @reference_profile_digest, @params, @code_fingerprint, @metrics, @gates, @gates_failed, @description,
            @created_at, @metrics_measured_at, @metrics_run_id)`),
      upsertModel: p(
        `INSERT INTO registry_models (name, created_at, updated_at) VALUES (?, ` +
          `?, ?) ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at`,
      ),
      touchModel: p(`UPDATE registry_models SET updated_at = ? WHERE name = ?`),
      model: p(`SELECT m.name, m.created_at, m.updated_at, COUNT(v.version) AS n, COALESCE(MAX(v.version), 0) AS latest
        FROM registry_models m LEFT JOIN registry_versions v ON v.model = m.name WHERE m.name = ? GROUP BY m.name`),
      models: p(`SELECT m.name, m.created_at, m.updated_at, COUNT(v.version) AS n, COALESCE(MAX(v.version), 0) AS latest
        FROM registry_models m LEFT JOIN registry_versions v ON v.model = m.name GROUP BY m.name ORDER BY m.name`),
      versions: p(`SELECT * FROM registry_versions WHERE model = ? ORDER BY version DESC`),
      alias: p(`SELECT * FROM registry_aliases WHERE model = ? AND alias = ?`),
      aliases: p(`SELECT * FROM registry_aliases ORDER BY model, alias`),
      aliasesOf: p(`SELECT * FROM registry_aliases WHERE model = ? ORDER BY alias`),
      upsertAlias: p(`INSERT INTO registry_aliases
          (model, alias, version, actor, updated_at, pinned_by, pin_reason, pinned_at, pin_action, pin_replaced_version)
        VALUES (@model, @alias, @version, @actor, @updated_at,
          @pinned_by, @pin_reason, @pinned_at, @pin_action, @pin_replaced_version)
        ON CONFLICT(model, alias) DO UPDATE SET
          version = excluded.version, actor = excluded.actor, updated_at = excluded.updated_at,
          pinned_by = excluded.pinned_by, pin_reason = excluded.pin_reason, pinned_at = excluded.pinned_at,
          pin_action = excluded.pin_action, pin_replaced_version = excluded.pin_replaced_version`),
      clearPin: p(`UPDATE registry_aliases
        SET pinned_by = NULL, pin_reason = NULL, pinned_at = NULL, pin_action = NULL, pin_replaced_version = NULL
        WHERE model = ? AND alias = ?`),
      deleteAlias: p(`DELETE FROM registry_aliases WHERE model = ? AND alias = ?`),
      insertEvent: p(`INSERT INTO registry_alias_history
          (model, alias, action, from_version, to_version, actor, reason, forced, pinned,
           run_id, run_trigger, user_name, at)
        VALUES (@model, @alias, @action, @from_version, @to_version, @actor, @reason, @forced, @pinned,
          @run_id, @run_trigger, @user_name, @at)`),
      event: p(`SELECT * FROM registry_alias_history WHERE id = ?`),
      history: p(`SELECT * FROM registry_alias_history WHERE model = ? ORDER BY id`),
      historyOf: p(`SELECT * FROM registry_alias_history WHERE model = ? AND alias = ? ORDER BY id`),
      revision: p(`SELECT COALESCE(MAX(id), 0) AS r FROM registry_alias_history`),
      insertLog: p(`INSERT INTO prediction_log
        (model, version, alias, ts, input, output, latency_ms, prediction_id, row_keys)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      logRange: p(`SELECT * FROM prediction_log WHERE model = ? AND alias = ? AND ts >= ? AND ts < ?
        ORDER BY ts, id LIMIT ?`),
      // Both look at the oldest @limit rows only (the id order is the log order): cost bounded per call.
      logHead: p(`SELECT (SELECT MIN(ts) FROM (SELECT ts FROM prediction_log ORDER BY id LIMIT @limit)) AS oldest_ts,
        (SELECT MIN(id) FROM prediction_log) AS lo, (SELECT MAX(id) FROM prediction_log) AS hi`),
      pruneLog: p(`DELETE FROM prediction_log WHERE id IN (SELECT id FROM prediction_log ORDER BY id LIMIT @limit)
        AND (ts < @before OR id <= (SELECT MAX(id) FROM prediction_log) - @keepRows)`),
      insertHook: p(`INSERT INTO registry_deploy_hooks (event_id, hook, ok, detail, at) VALUES (?, ?, ?, ?, ?)`),
      hooks: p(`SELECT * FROM registry_deploy_hooks WHERE event_id = ? ORDER BY rowid`),
    };
  }

  /**
   * One IMMEDIATE transaction that never blocks the event loop on a lock: while another connection
   * writes, it retries after a timer, so a writer of this same process (a run's records) can commit.
   */
  private async writeTx<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let delay = 1; ; delay = Math.min(2 * delay, 50)) {
      const busyTimeout = this.db.pragma("busy_timeout", { simple: true }) as number;
      this.db.pragma("busy_timeout = 0");
      try {
        return this.db.transaction(fn).immediate();
      } catch (err) {
        if ((err as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw err;
      } finally {
        this.db.pragma(`busy_timeout = ${busyTimeout}`);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Opens a registry on its own metadata database file (tests, tools). */
  static open(file: string): SqliteRegistryStore {
    return new SqliteRegistryStore(new SqliteMetadataStore(file), { closeMetadata: true });
  }

  private async migrate(): Promise<void> {
    // Read first: a migrated database is opened without taking the write lock at all.
    const tableSql = `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registry_migrations'`;
    const table = this.db.prepare(tableSql).get();
    const applied = table ? (this.db.prepare(`SELECT version FROM registry_migrations`).all() as Row[]) : [];
    const done = new Set(applied.map((r) => r.version as number));
    for (const [i, sql] of REGISTRY_MIGRATIONS.entries()) {
      const version = i + 1;
      if (done.has(version)) continue;
      await this.writeTx(() => {
        this.db.exec(`CREATE TABLE IF NOT EXISTS registry_migrations
          (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`);
        // Re-checked inside the write lock: another process may have migrated meanwhile.
        if (this.db.prepare(`SELECT 1 FROM registry_migrations WHERE version = ?`).get(version)) return;
        this.db.exec(sql);
        this.db.prepare(`INSERT INTO registry_migrations (version, applied_at) VALUES (?, ?)`).run(version, Date.now());
      });
    }
  }

  async registerVersion(input: RegisterVersionInput): Promise<{ version: ModelVersionRecord; created: boolean }> {
    await this.ready;
    checkRegistryName("model", input.model);
    const result = await this.writeTx(() => {
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
        ...metricsProvenance(input, now),
      });
      return { version: rowToVersion(this.stmts.version.get(input.model, version) as Row), created: true };
    });
    // Pinned after the commit (the pin is the metadata store's); re-registering re-pins, so a
    // crash between the two heals on the pipeline's next run.
    const v = result.version;
    const owner = `model:${v.model}@${v.version}`;
    await this.metadata.pin(v.artifactDigest, owner);
    if (v.referenceProfileDigest) await this.metadata.pin(v.referenceProfileDigest, owner);
    return result;
  }

  async getVersion(model: string, ref: number | string): Promise<ModelVersionRecord | undefined> {
    await this.ready;
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
    await this.ready;
    const aliases = (this.stmts.aliases.all() as Row[]).map(rowToAlias);
    return (this.stmts.models.all() as Row[]).map((r) => rowToSummary(r, aliases));
  }

  async getModel(model: string): Promise<ModelSummary | undefined> {
    await this.ready;
    const row = this.stmts.model.get(model) as Row | undefined;
    return row ? rowToSummary(row, (this.stmts.aliasesOf.all(model) as Row[]).map(rowToAlias)) : undefined;
  }

  async listVersions(model: string): Promise<ModelVersionRecord[]> {
    await this.ready;
    return (this.stmts.versions.all(model) as Row[]).map(rowToVersion);
  }

  async getAlias(model: string, alias: string): Promise<AliasRecord | undefined> {
    await this.ready;
    const row = this.stmts.alias.get(model, alias) as Row | undefined;
    return row ? rowToAlias(row) : undefined;
  }

  async listAliases(model?: string): Promise<AliasRecord[]> {
    await this.ready;
    return ((model === undefined ? this.stmts.aliases.all() : this.stmts.aliasesOf.all(model)) as Row[]).map(
      rowToAlias,
    );
  }

  async setAlias(model: string, alias: string, version: number, opts: AliasChangeOptions = {}): Promise<AliasChange> {
    await this.ready;
    checkRegistryName("alias", alias);
    return this.writeTx(() => {
      const target = this.requireVersion(model, version);
      const row = this.stmts.alias.get(model, alias) as Row | undefined;
      const current = row ? rowToAlias(row) : undefined;
      if (current?.version === version) return { alias: current };
      const replaced = current?.pin?.replacedVersion;
      const replacedDigest = replaced === undefined ? undefined : this.requireVersion(model, replaced).artifactDigest;
      const plan = planAliasSet(target, alias, current, replacedDigest, opts);
      const moveOpts = { ...opts, force: plan.forced, reason: plan.reason };
      return this.moveAlias(model, alias, "set", current?.version, version, moveOpts, plan.pin);
    });
  }

  async rollback(model: string, alias: string, opts: RollbackOptions = {}): Promise<AliasChange> {
    await this.ready;
    return this.writeTx(() => {
      const current = this.requireAlias(model, alias);
      const target = rollbackTarget((this.stmts.historyOf.all(model, alias) as Row[]).map(rowToEvent));
      if (target === undefined || target === current.version) throw registryErrors.nothingToRollBack(model, alias);
      this.requireVersion(model, target);
      // A person's rollback pins the alias: automation does not undo it.
      const pin = rollbackPin(opts, current.version);
      return this.moveAlias(model, alias, "rollback", current.version, target, { ...opts, force: false }, pin);
    });
  }

  async unpin(model: string, alias: string, opts: UnpinOptions): Promise<AliasEvent> {
    await this.ready;
    return this.writeTx(() => {
      const current = this.requireAlias(model, alias);
      if (!current.pin) throw registryErrors.notPinned(model, alias);
      this.stmts.clearPin.run(model, alias);
      const { version } = current;
      return this.recordEvent(model, alias, "unpin", version, version, { ...opts, force: false }, false);
    });
  }

  async deleteAlias(model: string, alias: string, opts: Omit<AliasChangeOptions, "force"> = {}): Promise<AliasEvent> {
    await this.ready;
    return this.writeTx(() => {
      const current = this.requireAlias(model, alias);
      this.stmts.deleteAlias.run(model, alias);
      return this.recordEvent(model, alias, "delete", current.version, undefined, { ...opts, force: false }, false);
    });
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    await this.ready;
    return (
      (alias === undefined ? this.stmts.history.all(model) : this.stmts.historyOf.all(model, alias)) as Row[]
    ).map(rowToEvent);
  }

  async aliasRevision(): Promise<number> {
    await this.ready;
    return (this.stmts.revision.get() as Row).r as number;
  }

  async appendPredictionLogs(entries: PredictionLogEntry[]): Promise<void> {
    await this.ready;
    if (!entries.length) return;
    await this.writeTx(() => {
      for (const e of entries) {
        const rowKeys = e.rowKeys ? JSON.stringify(e.rowKeys) : null;
        const row = [e.model, e.version, e.alias, e.ts, json(e.input), json(e.output), e.latencyMs];
        this.stmts.insertLog.run(...row, e.predictionId ?? null, rowKeys);
      }
    });
  }

  async listPredictionLogs(filter: { model: string; alias?: string; limit?: number }): Promise<PredictionLogEntry[]> {
    await this.ready;
    const where = filter.alias === undefined ? `model = ?` : `model = ? AND alias = ?`;
    const args = filter.alias === undefined ? [filter.model] : [filter.model, filter.alias];
    const rows = this.db
      .prepare(`SELECT * FROM prediction_log WHERE ${where} ORDER BY id DESC LIMIT ${Math.max(1, filter.limit ?? 100)}`)
      .all(...args) as Row[];
    return rows.map(rowToLogEntry);
  }

  async readPredictionLog(range: PredictionLogRange): Promise<PredictionLogEntry[]> {
    await this.ready;
    const limit = Math.max(1, Math.floor(range.limit ?? 100_000));
    return (this.stmts.logRange.all(range.model, range.alias, range.from, range.to, limit) as Row[]).map(rowToLogEntry);
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
    await this.ready;
    this.stmts.insertHook.run(r.eventId, r.hook, r.ok ? 1 : 0, r.detail ?? null, r.at);
  }

  async listDeployHooks(eventId: number): Promise<DeployHookResult[]> {
    await this.ready;
    return (this.stmts.hooks.all(eventId) as Row[]).map((r) => ({
      eventId: r.event_id,
      hook: r.hook,
      ok: r.ok === 1,
      detail: opt(r.detail),
      at: r.at,
    }));
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
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
    throw registryErrors.unknownAlias(
      model,
      alias,
      (this.stmts.aliasesOf.all(model) as Row[]).map((r) => r.alias as string),
    );
  }

  private moveAlias(
    model: string,
    alias: string,
    action: "set" | "rollback",
    from: number | undefined,
    to: number,
    opts: AliasChangeOptions,
    pin: AliasPin | undefined,
  ): AliasChange {
    this.stmts.upsertAlias.run({
      model,
      alias,
      version: to,
      actor: opts.actor ?? "cli",
      updated_at: Date.now(),
      pinned_by: pin?.by ?? null,
      pin_reason: pin?.reason ?? null,
      pinned_at: pin?.at ?? null,
      pin_action: pin?.action ?? null,
      pin_replaced_version: pin?.replacedVersion ?? null,
    });
    const event = this.recordEvent(model, alias, action, from, to, opts, pin !== undefined);
    return { alias: rowToAlias(this.stmts.alias.get(model, alias) as Row), event };
  }

  private recordEvent(
    model: string,
    alias: string,
    action: AliasEvent["action"],
    from: number | undefined,
    to: number | undefined,
    opts: AliasChangeOptions,
    pinned: boolean,
  ): AliasEvent {
    const now = Date.now();
    this.stmts.touchModel.run(now, model);
    const id = this.stmts.insertEvent.run({
      model,
      alias,
      action,
      from_version: from ?? null,
      to_version: to ?? null,
      actor: opts.actor ?? "cli",
      reason: opts.reason ?? null,
      forced: opts.force ? 1 : 0,
      pinned: pinned ? 1 : 0,
      run_id: opts.runId ?? null,
      run_trigger: opts.trigger ?? null,
      user_name: opts.user ?? null,
      at: now,
    }).lastInsertRowid;
    return rowToEvent(this.stmts.event.get(id) as Row);
  }
}

function optionalProvenance(r: Row): Pick<ModelVersionRecord, "metricsMeasuredAt" | "metricsRunId"> {
  const out: Pick<ModelVersionRecord, "metricsMeasuredAt" | "metricsRunId"> = {};
  if (r.metrics_measured_at !== null && r.metrics_measured_at !== undefined)
    out.metricsMeasuredAt = r.metrics_measured_at;
  if (r.metrics_run_id !== null && r.metrics_run_id !== undefined) out.metricsRunId = r.metrics_run_id;
  return out;
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
    ...optionalProvenance(r),
    gates: JSON.parse(r.gates),
    description: opt(r.description),
    createdAt: r.created_at,
  };
}

function rowToAlias(r: Row): AliasRecord {
  const { model, alias, version, actor } = r;
  const out: AliasRecord = { model, alias, version, actor, updatedAt: r.updated_at };
  if (r.pinned_by !== null && r.pinned_by !== undefined) {
    const replacedVersion = opt(r.pin_replaced_version) as number | undefined;
    out.pin = { by: r.pinned_by, reason: opt(r.pin_reason), at: r.pinned_at, action: r.pin_action, replacedVersion };
  }
  return out;
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
    pinned: r.pinned === 1,
    runId: opt(r.run_id),
    trigger: opt(r.run_trigger),
    user: opt(r.user_name),
    at: r.at,
  };
}

function rowToSummary(r: Row, aliases: AliasRecord[]): ModelSummary {
  const own = Object.fromEntries(aliases.filter((a) => a.model === r.name).map((a) => [a.alias, a.version]));
  return {
    name: r.name,
    latestVersion: r.latest,
    versionCount: r.n,
    aliases: own,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function rowToLogEntry(r: Row): PredictionLogEntry {
  const entry: PredictionLogEntry = {
    model: r.model,
    version: r.version,
    alias: r.alias,
    ts: r.ts,
    input: JSON.parse(r.input),
    output: JSON.parse(r.output),
    latencyMs: r.latency_ms,
  };
  if (r.prediction_id !== null) entry.predictionId = r.prediction_id;
  if (r.row_keys !== null) entry.rowKeys = JSON.parse(r.row_keys);
  return entry;
}
