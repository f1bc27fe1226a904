/**
 * Ordered schema migrations of the SQLite model registry. They live in the metadata database
 * file but are tracked in their own `registry_migrations` table, so the registry's versions never
 * collide with the metadata store's `schema_migrations`. Each runs once, in a transaction.
 */
export const REGISTRY_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE registry_models (
    name TEXT PRIMARY KEY, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  CREATE TABLE registry_versions (
    model TEXT NOT NULL, version INTEGER NOT NULL, artifact_digest TEXT NOT NULL,
    run_id TEXT, step_run_id TEXT, data_digests TEXT NOT NULL, reference_profile_digest TEXT,
    params TEXT NOT NULL, code_fingerprint TEXT, metrics TEXT NOT NULL, gates TEXT NOT NULL,
    gates_failed INTEGER NOT NULL DEFAULT 0, description TEXT, created_at INTEGER NOT NULL,
    PRIMARY KEY (model, version),
    UNIQUE (model, artifact_digest)
  );
  CREATE TABLE registry_aliases (
    model TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, actor TEXT NOT NULL,
    updated_at INTEGER NOT NULL, PRIMARY KEY (model, alias)
  );
  CREATE TABLE registry_alias_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, alias TEXT NOT NULL,
    action TEXT NOT NULL, from_version INTEGER, to_version INTEGER, actor TEXT NOT NULL,
    reason TEXT, forced INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL
  );
  CREATE INDEX registry_alias_history_alias ON registry_alias_history (model, alias, id);
  CREATE TABLE prediction_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, version INTEGER NOT NULL,
    alias TEXT NOT NULL, ts INTEGER NOT NULL, input TEXT NOT NULL, output TEXT NOT NULL,
    latency_ms REAL NOT NULL
  );
  CREATE INDEX prediction_log_model ON prediction_log (model, alias, ts);
  CREATE TABLE registry_deploy_hooks (
    event_id INTEGER NOT NULL, hook TEXT NOT NULL, ok INTEGER NOT NULL, detail TEXT, at INTEGER NOT NULL
  );
  CREATE INDEX registry_deploy_hooks_event ON registry_deploy_hooks (event_id);
  `, // Pins (a person's decision automation leaves alone) and who moved an alias: run, trigger, user.
  `
  ALTER TABLE registry_aliases ADD COLUMN pinned_by TEXT;
  ALTER TABLE registry_aliases ADD COLUMN pin_reason TEXT;
  ALTER TABLE registry_aliases ADD COLUMN pinned_at INTEGER;
  ALTER TABLE registry_aliases ADD COLUMN pin_action TEXT;
  ALTER TABLE registry_aliases ADD COLUMN pin_replaced_version INTEGER;
  ALTER TABLE registry_alias_history ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE registry_alias_history ADD COLUMN run_id TEXT;
  ALTER TABLE registry_alias_history ADD COLUMN run_trigger TEXT;
  ALTER TABLE registry_alias_history ADD COLUMN user_name TEXT;
  `,
  // The join of served predictions with late labels: the id returned to the client and row keys.
  `
  ALTER TABLE prediction_log ADD COLUMN prediction_id TEXT;
  ALTER TABLE prediction_log ADD COLUMN row_keys TEXT;
  `,
  // When and by which run a version's metrics were measured.
  `
  ALTER TABLE registry_versions ADD COLUMN metrics_measured_at INTEGER;
  ALTER TABLE registry_versions ADD COLUMN metrics_run_id TEXT;
  `,
];
