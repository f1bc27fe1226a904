/**
 * PostgreSQL implementation of the model registry. It shares the metadata store's pool, database
 * and schema (one database to back up, and a registration pins its artifacts in the same
 * transaction, where the metadata store's gc reads them) but owns its tables and migrations.
 *
 * Concurrency: every write locks the model's row first, so registrations of one model number
 * their versions one after another and moves of its aliases see each other's history. Every
 * alias move then bumps the one revision row, so watchers polling `aliasRevision` see the
 * number grow in commit order. Transactions run READ COMMITTED whatever the server's default,
 * which is what makes each statement after a lock wait see the rows committed meanwhile.
 *
 * Only types come from `pg` and the metadata store, so loading this file never loads the driver.
 */
import type pg from "pg";
import { TrainyardError } from "../core/errors.js";
import type { MetadataStore } from "./metadata-store.js";
import type { PostgresMetadataOptions, PostgresMetadataStore } from "./postgres-metadata-store.js";
import { POSTGRES_REGISTRY_MIGRATIONS } from "./postgres-registry-migrations.js";
import { text, type Queryable, type Row } from "./postgres-rows.js";
import { applyMigrations } from "./postgres-schema-versions.js";
import { inTransaction } from "./postgres-transaction.js";
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

const json = (v: unknown) => JSON.stringify(v ?? null);
const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/** Lost races a transaction may simply run again: serialization failure, deadlock, unique violation. */
const RETRYABLE = new Set(["40001", "40P01", "23505"]);
const MAX_ATTEMPTS = 5;

// COLLATE "C": names list in byte order, as SQLite sorts them, whatever the database's locale.
const SUMMARY = `SELECT m.name, m.created_at, m.updated_at, COUNT(v.version) AS n, COALESCE(MAX(v.version),
  0) AS latest,
    (SELECT json_object_agg(a.alias, a.version ORDER BY a.alias COLLATE "C") FROM registry_aliases a
      WHERE a.model = m.name) AS aliases
  FROM registry_models m LEFT JOIN registry_versions v ON v.model = m.name`;
const INSERT_VERSION = `INSERT INTO registry_versions (model, version, artifact_digest, run_id, step_run_id,
  data_digests, reference_profile_digest, params, code_fingerprint, metrics, gates, gates_failed, description,
    created_at, metrics_measured_at, metrics_run_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING *`;
const INSERT_LOGS = `INSERT INTO prediction_log
    (model, version, alias, ts, input, output, latency_ms, prediction_id, row_keys)
  SELECT u.model, u.version, u.alias, u.ts, u.input::json, u.output::json, u.latency, u.pid, u.keys::json
  FROM unnest($1::text[], $2::int[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::float8[],
    $8::text[], $9::text[])
    WITH ORDINALITY AS u(model, version, alias, ts, input, output, latency, pid, keys, n) ORDER BY u.n`;

export interface PostgresRegistryOptions {
  /** Close the metadata store when the registry closes (for a registry opened on its own). @default false */
  closeMetadata?: boolean;
}

/** True for the PostgreSQL metadata store, checked without loading its module (and `pg`). */
export function isPostgresMetadata(m: MetadataStore): m is PostgresMetadataStore {
  return m.backend === "postgres" && "connectionPool" in m;
}

export class PostgresRegistryStore implements RegistryStore {
  readonly backend = "postgres";
  private readonly pool: pg.Pool;
  /** Migrations start with the constructor (openRegistry is synchronous); every call awaits them. */
  private readonly ready: Promise<void>;

  constructor(
    private readonly metadata: PostgresMetadataStore,
    private readonly opts: PostgresRegistryOptions = {},
  ) {
    this.pool = metadata.connectionPool;
    this.ready = this.migrate();
    this.ready.catch(() => undefined); // reported by the first call that needs the tables
  }

  /** Opens a registry on its own connection to a metadata database (tests, tools). */
  static async open(opts: PostgresMetadataOptions): Promise<PostgresRegistryStore> {
    const { PostgresMetadataStore } = await import("./postgres-metadata-store.js");
    const metadata = await PostgresMetadataStore.open(opts);
    const reg = new PostgresRegistryStore(metadata, { closeMetadata: true });
    try {
      await reg.ready;
    } catch (err) {
      await metadata.close();
      throw err;
    }
    return reg;
  }

  private async migrate(): Promise<void> {
    try {
      await this.inTransaction(async (c) => {
        // Serialises concurrent first opens of one schema; released at commit.
        await c.query(`SELECT pg_advisory_xact_lock(hashtext('trainyard.registry.migrate.' || current_schema()))`);
        await applyMigrations(c, "registry_migrations", POSTGRES_REGISTRY_MIGRATIONS);
      });
    } catch (err) {
      throw new TrainyardError(
        "REGISTRY_UNAVAILABLE",
        `cannot prepare the model registry tables in PostgreSQL: ${(err as Error).message}`,
        {
          cause: err,
          hint:
            "the metadata store opened, " +
            "so check that its user may create tables in the schema; otherwise see the cause",
        },
      );
    }
  }

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    await this.ready;
    return (await this.pool.query(sql, args)).rows;
  }

  private async transaction<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    await this.ready;
    return this.inTransaction(fn);
  }

  /** Runs `fn` in a READ COMMITTED transaction, again from the start when it lost a race. */
  private inTransaction<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn, {
      begin: "BEGIN ISOLATION LEVEL READ COMMITTED",
      retryOn: RETRYABLE,
      attempts: MAX_ATTEMPTS,
    });
  }

  async registerVersion(input: RegisterVersionInput): Promise<{ version: ModelVersionRecord; created: boolean }> {
    checkRegistryName("model", input.model);
    return this.transaction(async (c) => {
      const existing = async () =>
        (
          await c.query(`SELECT * FROM registry_versions WHERE model = $1 AND artifact_digest = $2`, [
            input.model,
            input.artifactDigest,
          ])
        ).rows[0] as Row | undefined;
      // Versions never change, so a re-registration is answered without taking the model's lock.
      let row = await existing();
      let created = false;
      if (!row) {
        const now = Date.now();
        // Creates the model or locks its row (the no-op update); checked again once we hold it.
        await c.query(
          `INSERT INTO registry_models (name, created_at, updated_at) VALUES ($1, $2, $2)
          ON CONFLICT (name) DO UPDATE SET updated_at = registry_models.updated_at`,
          [input.model, now],
        );
        row = await existing();
        if (!row) {
          const latest = (
            await c.query(`SELECT COALESCE(MAX(version), 0) AS v FROM registry_versions WHERE model = $1`, [
              input.model,
            ])
          ).rows[0].v as number;
          const gates = input.gates ?? [];
          row = (
            await c.query(INSERT_VERSION, [
              input.model,
              latest + 1,
              input.artifactDigest,
              input.runId ?? null,
              input.stepRunId ?? null,
              json(input.dataDigests ?? []),
              input.referenceProfileDigest ?? null,
              json(input.params ?? {}),
              input.codeFingerprint ?? null,
              json(input.metrics ?? {}),
              json(gates),
              failedGates(gates).length,
              text(input.description),
              now,
              metricsProvenance(input, now).metrics_measured_at,
              metricsProvenance(input, now).metrics_run_id,
            ])
          ).rows[0] as Row;
          await c.query(`UPDATE registry_models SET updated_at = $2 WHERE name = $1`, [input.model, now]);
          created = true;
        }
      }
      const version = rowToVersion(row);
      // Pinned in the same transaction (the metadata store's pins table, read by gc); a
      // re-registration re-pins, as on SQLite.
      const owner = `model:${version.model}@${version.version}`;
      const digests = [
        version.artifactDigest,
        ...(version.referenceProfileDigest ? [version.referenceProfileDigest] : []),
      ];
      await c.query(`INSERT INTO pins (digest, owner) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`, [
        digests,
        owner,
      ]);
      return { version, created };
    });
  }

  async getVersion(model: string, ref: number | string): Promise<ModelVersionRecord | undefined> {
    const byNumber = typeof ref === "number" || /^\d+$/.test(ref);
    const [row] = byNumber
      ? await this.rows(`SELECT * FROM registry_versions WHERE model = $1 AND version = $2`, [model, Number(ref)])
      : await this.rows(
          `SELECT v.* FROM registry_aliases a JOIN registry_versions v ON v.model = a.model AND v.version = a.version
          WHERE a.model = $1 AND a.alias = $2`,
          [model, ref],
        );
    return row ? rowToVersion(row) : undefined;
  }

  async listModels(): Promise<ModelSummary[]> {
    return (await this.rows(`${SUMMARY} GROUP BY m.name ORDER BY m.name COLLATE "C"`)).map(rowToSummary);
  }

  async getModel(model: string): Promise<ModelSummary | undefined> {
    const [row] = await this.rows(`${SUMMARY} WHERE m.name = $1 GROUP BY m.name`, [model]);
    return row ? rowToSummary(row) : undefined;
  }

  async listVersions(model: string): Promise<ModelVersionRecord[]> {
    return (await this.rows(`SELECT * FROM registry_versions WHERE model = $1 ORDER BY version DESC`, [model])).map(
      rowToVersion,
    );
  }

  async getAlias(model: string, alias: string): Promise<AliasRecord | undefined> {
    const [row] = await this.rows(`SELECT * FROM registry_aliases WHERE model = $1 AND alias = $2`, [model, alias]);
    return row ? rowToAlias(row) : undefined;
  }

  async listAliases(model?: string): Promise<AliasRecord[]> {
    const rows =
      model === undefined
        ? await this.rows(`SELECT * FROM registry_aliases ORDER BY model COLLATE "C", alias COLLATE "C"`)
        : await this.rows(`SELECT * FROM registry_aliases WHERE model = $1 ORDER BY alias COLLATE "C"`, [model]);
    return rows.map(rowToAlias);
  }

  async setAlias(model: string, alias: string, version: number, opts: AliasChangeOptions = {}): Promise<AliasChange> {
    checkRegistryName("alias", alias);
    return this.transaction(async (c) => {
      await lockModel(c, model);
      const target = await requireVersion(c, model, version);
      const row = await aliasRow(c, model, alias);
      const current = row ? rowToAlias(row) : undefined;
      if (current?.version === version) return { alias: current };
      const replaced = current?.pin?.replacedVersion;
      const replacedDigest =
        replaced === undefined ? undefined : (await requireVersion(c, model, replaced)).artifactDigest;
      const plan = planAliasSet(target, alias, current, replacedDigest, opts);
      const moveOpts = { ...opts, force: plan.forced, reason: plan.reason };
      return moveAlias(c, model, alias, "set", current?.version, version, moveOpts, plan.pin);
    });
  }

  async unpin(model: string, alias: string, opts: UnpinOptions): Promise<AliasEvent> {
    return this.transaction(async (c) => {
      await lockModel(c, model);
      const current = await requireAlias(c, model, alias);
      if (!current.pin) throw registryErrors.notPinned(model, alias);
      await c.query(
        `UPDATE registry_aliases
        SET pinned_by = NULL, pin_reason = NULL, pinned_at = NULL, pin_action = NULL, pin_replaced_version = NULL
        WHERE model = $1 AND alias = $2`,
        [model, alias],
      );
      return recordMove(c, model, alias, "unpin", current.version, current.version, { ...opts, force: false }, false);
    });
  }

  async rollback(model: string, alias: string, opts: RollbackOptions = {}): Promise<AliasChange> {
    return this.transaction(async (c) => {
      await lockModel(c, model);
      const current = await requireAlias(c, model, alias);
      const history = (
        await c.query(`SELECT * FROM registry_alias_history WHERE model = $1 AND alias = $2 ORDER BY id`, [
          model,
          alias,
        ])
      ).rows.map(rowToEvent);
      const target = rollbackTarget(history);
      if (target === undefined || target === current.version) throw registryErrors.nothingToRollBack(model, alias);
      await requireVersion(c, model, target);
      // A person's rollback pins the alias: automation does not undo it.
      const pin = rollbackPin(opts, current.version);
      return moveAlias(c, model, alias, "rollback", current.version, target, { ...opts, force: false }, pin);
    });
  }

  async deleteAlias(model: string, alias: string, opts: Omit<AliasChangeOptions, "force"> = {}): Promise<AliasEvent> {
    return this.transaction(async (c) => {
      await lockModel(c, model);
      const current = await requireAlias(c, model, alias);
      await c.query(`DELETE FROM registry_aliases WHERE model = $1 AND alias = $2`, [model, alias]);
      return recordMove(c, model, alias, "delete", current.version, undefined, { ...opts, force: false }, false);
    });
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    const rows =
      alias === undefined
        ? await this.rows(`SELECT * FROM registry_alias_history WHERE model = $1 ORDER BY id`, [model])
        : await this.rows(`SELECT * FROM registry_alias_history WHERE model = $1 AND alias = $2 ORDER BY id`, [
            model,
            alias,
          ]);
    return rows.map(rowToEvent);
  }

  async aliasRevision(): Promise<number> {
    return (await this.rows(`SELECT revision FROM registry_revision`))[0].revision as number;
  }

  async appendPredictionLogs(entries: PredictionLogEntry[]): Promise<void> {
    if (!entries.length) return;
    const column = <T>(f: (e: PredictionLogEntry) => T) => entries.map(f);
    // A transaction, so that one sent again after its answer was lost does not log twice (postgres-transaction.ts).
    await this.transaction((c) =>
      c.query(INSERT_LOGS, [
        column((e) => e.model),
        column((e) => e.version),
        column((e) => e.alias),
        column((e) => e.ts),
        column((e) => json(e.input)),
        column((e) => json(e.output)),
        column((e) => e.latencyMs),
        column((e) => e.predictionId ?? null),
        column((e) => (e.rowKeys ? JSON.stringify(e.rowKeys) : null)),
      ]),
    );
  }

  async listPredictionLogs(filter: { model: string; alias?: string; limit?: number }): Promise<PredictionLogEntry[]> {
    const limit = Math.max(1, filter.limit ?? 100);
    const rows =
      filter.alias === undefined
        ? await this.rows(`SELECT * FROM prediction_log WHERE model = $1 ORDER BY seq DESC LIMIT $2`, [
            filter.model,
            limit,
          ])
        : await this.rows(`SELECT * FROM prediction_log WHERE model = $1 AND alias = $2 ORDER BY seq DESC LIMIT $3`, [
            filter.model,
            filter.alias,
            limit,
          ]);
    return rows.map(rowToLogEntry);
  }

  async readPredictionLog(range: PredictionLogRange): Promise<PredictionLogEntry[]> {
    const limit = Math.max(1, Math.floor(range.limit ?? 100_000));
    const rows = await this.rows(
      `SELECT * FROM prediction_log WHERE model = $1 AND alias = $2 AND ts >= $3 AND ts < $4 ORDER BY ts, seq LIMIT $5`,
      [range.model, range.alias, range.from, range.to, limit],
    );
    return rows.map(rowToLogEntry);
  }

  async prunePredictionLogs(policy: PredictionLogPrune): Promise<number> {
    const before = policy.before ?? null;
    const keepRows = policy.keepRows === undefined ? null : Math.max(0, Math.floor(policy.keepRows));
    if (policy.limit <= 0 || (before === null && keepRows === null)) return 0;
    // The oldest $1 rows only (seq order is the log order): cost bounded per call.
    const rows = await this.rows(
      `WITH oldest AS (SELECT seq, ts FROM prediction_log ORDER BY seq LIMIT $1),
            bound AS (SELECT MAX(seq) - $3::bigint AS seq FROM prediction_log)
       DELETE FROM prediction_log p USING oldest o, bound b
       WHERE p.seq = o.seq AND (o.ts < $2::float8 OR o.seq <= b.seq) RETURNING p.seq`,
      [Math.floor(policy.limit), before, keepRows],
    );
    return rows.length;
  }

  async recordDeployHook(r: DeployHookResult): Promise<void> {
    // A transaction: recorded once even when sent again after its answer was lost (postgres-transaction.ts).
    await this.transaction((c) =>
      c.query(`INSERT INTO registry_deploy_hooks (event_id, hook, ok, detail, at) VALUES ($1, $2, $3, $4, $5)`, [
        r.eventId,
        r.hook,
        r.ok,
        text(r.detail),
        r.at,
      ]),
    );
  }

  async listDeployHooks(eventId: number): Promise<DeployHookResult[]> {
    const rows = await this.rows(`SELECT * FROM registry_deploy_hooks WHERE event_id = $1 ORDER BY seq`, [eventId]);
    return rows.map((r) => ({ eventId: r.event_id, hook: r.hook, ok: r.ok === true, detail: opt(r.detail), at: r.at }));
  }

  async close(): Promise<void> {
    // Let a pending migration finish before its pool goes away.
    await this.ready.catch(() => undefined);
    if (this.opts.closeMetadata) await this.metadata.close();
  }
}

/** Locks the model's row for the rest of the transaction; a model that does not exist is NOT_FOUND. */
async function lockModel(c: Queryable, model: string): Promise<void> {
  const { rowCount } = await c.query(`SELECT 1 FROM registry_models WHERE name = $1 FOR UPDATE`, [model]);
  if (!rowCount) throw registryErrors.unknownModel(model);
}

async function requireVersion(c: Queryable, model: string, version: number): Promise<ModelVersionRecord> {
  const [row] = (await c.query(`SELECT * FROM registry_versions WHERE model = $1 AND version = $2`, [model, version]))
    .rows;
  if (row) return rowToVersion(row);
  const latest = (
    await c.query(`SELECT COALESCE(MAX(version), 0) AS v FROM registry_versions WHERE model = $1`, [model])
  ).rows[0].v as number;
  throw latest === 0 ? registryErrors.unknownModel(model) : registryErrors.unknownVersion(model, version, latest);
}

async function aliasRow(c: Queryable, model: string, alias: string): Promise<Row | undefined> {
  return (await c.query(`SELECT * FROM registry_aliases WHERE model = $1 AND alias = $2`, [model, alias])).rows[0];
}

async function requireAlias(c: Queryable, model: string, alias: string): Promise<AliasRecord> {
  const row = await aliasRow(c, model, alias);
  if (row) return rowToAlias(row);
  const known = (
    await c.query(`SELECT alias FROM registry_aliases WHERE model = $1 ORDER BY alias COLLATE "C"`, [model])
  ).rows.map((r: Row) => r.alias as string);
  throw registryErrors.unknownAlias(model, alias, known);
}

async function moveAlias(
  c: Queryable,
  model: string,
  alias: string,
  action: "set" | "rollback",
  from: number | undefined,
  to: number,
  opts: AliasChangeOptions,
  pin: AliasPin | undefined,
): Promise<AliasChange> {
  const [row] = (
    await c.query(
      `INSERT INTO registry_aliases
      (model, alias, version, actor, updated_at, pinned_by, pin_reason, pinned_at, pin_action, pin_replaced_version)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (model, alias) DO UPDATE SET
      version = EXCLUDED.version, actor = EXCLUDED.actor, updated_at = EXCLUDED.updated_at,
      pinned_by = EXCLUDED.pinned_by, pin_reason = EXCLUDED.pin_reason, pinned_at = EXCLUDED.pinned_at,
      pin_action = EXCLUDED.pin_action, pin_replaced_version = EXCLUDED.pin_replaced_version
    RETURNING *`,
      [
        model,
        alias,
        to,
        opts.actor ?? "cli",
        Date.now(),
        pin?.by ?? null,
        text(pin?.reason),
        pin?.at ?? null,
        pin?.action ?? null,
        pin?.replacedVersion ?? null,
      ],
    )
  ).rows;
  const event = await recordMove(c, model, alias, action, from, to, opts, pin !== undefined);
  return { alias: rowToAlias(row), event };
}

/**
 * Bumps the revision (its row lock is held to commit, so revisions become visible in order) and
 * records the move under that number. Taken after the model's lock, always in that order.
 */
async function recordMove(
  c: Queryable,
  model: string,
  alias: string,
  action: AliasEvent["action"],
  from: number | undefined,
  to: number | undefined,
  opts: AliasChangeOptions,
  pinned: boolean,
): Promise<AliasEvent> {
  const now = Date.now();
  const id = (await c.query(`UPDATE registry_revision SET revision = revision + 1 RETURNING revision`)).rows[0]
    .revision as number;
  await c.query(`UPDATE registry_models SET updated_at = $2 WHERE name = $1`, [model, now]);
  const [row] = (
    await c.query(
      `INSERT INTO registry_alias_history
      (id, model, alias, action, from_version, to_version, actor, reason, forced, pinned,
       run_id, run_trigger, user_name, at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
      [
        id,
        model,
        alias,
        action,
        from ?? null,
        to ?? null,
        opts.actor ?? "cli",
        text(opts.reason),
        opts.force === true,
        pinned,
        text(opts.runId),
        text(opts.trigger),
        text(opts.user),
        now,
      ],
    )
  ).rows;
  return rowToEvent(row);
}

function rowToVersion(r: Row): ModelVersionRecord {
  return {
    model: r.model,
    version: r.version,
    artifactDigest: r.artifact_digest,
    runId: opt(r.run_id),
    stepRunId: opt(r.step_run_id),
    dataDigests: r.data_digests ?? [],
    referenceProfileDigest: opt(r.reference_profile_digest),
    params: r.params ?? {},
    codeFingerprint: opt(r.code_fingerprint),
    metrics: r.metrics ?? {},
    ...(r.metrics_measured_at === null || r.metrics_measured_at === undefined
      ? {}
      : { metricsMeasuredAt: Number(r.metrics_measured_at) }),
    ...(r.metrics_run_id === null || r.metrics_run_id === undefined ? {} : { metricsRunId: r.metrics_run_id }),
    gates: r.gates ?? [],
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
    forced: r.forced === true,
    pinned: r.pinned === true,
    runId: opt(r.run_id),
    trigger: opt(r.run_trigger),
    user: opt(r.user_name),
    at: r.at,
  };
}

function rowToSummary(r: Row): ModelSummary {
  return {
    name: r.name,
    latestVersion: r.latest,
    versionCount: r.n,
    aliases: r.aliases ?? {},
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
    input: r.input,
    output: r.output,
    latencyMs: r.latency_ms,
  };
  if (r.prediction_id !== null && r.prediction_id !== undefined) entry.predictionId = r.prediction_id;
  if (r.row_keys !== null && r.row_keys !== undefined) entry.rowKeys = r.row_keys;
  return entry;
}
