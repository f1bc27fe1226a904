/** Ordered schema migrations of the SQLite metadata store; each runs once, in a transaction. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE pipelines (name TEXT PRIMARY KEY, module_path TEXT NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE runs (
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, module_path TEXT NOT NULL, params TEXT NOT NULL,
    profile TEXT, trigger TEXT NOT NULL, status TEXT NOT NULL, code_version TEXT NOT NULL,
    created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, error TEXT,
    options TEXT NOT NULL, pid INTEGER
  );
  CREATE INDEX runs_pipeline ON runs (pipeline, created_at);
  CREATE TABLE step_runs (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step_id TEXT NOT NULL, item_index INTEGER NOT NULL,
    status TEXT NOT NULL, cache_key TEXT, components TEXT, cached INTEGER NOT NULL DEFAULT 0,
    cached_from TEXT, attempts INTEGER NOT NULL DEFAULT 0, started_at INTEGER, finished_at INTEGER,
    duration_ms REAL, output_digest TEXT, error TEXT, reason TEXT
  );
  CREATE INDEX step_runs_run ON step_runs (run_id);
  CREATE INDEX step_runs_key ON step_runs (cache_key, finished_at) WHERE status = 'succeeded';
  CREATE INDEX step_runs_step ON step_runs (step_id, item_index, finished_at);
  CREATE TABLE attempts (
    step_run_id TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
    started_at INTEGER NOT NULL, finished_at INTEGER, error TEXT, PRIMARY KEY (step_run_id, attempt)
  );
  CREATE TABLE logs (step_run_id TEXT NOT NULL, attempt INTEGER NOT NULL, ts INTEGER NOT NULL,
    stream TEXT NOT NULL, line TEXT NOT NULL);
  CREATE INDEX logs_step_run ON logs (step_run_id, attempt);
  CREATE TABLE artifacts (
    digest TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, meta TEXT NOT NULL,
    created_at INTEGER NOT NULL, inline BLOB
  );
  CREATE TABLE lineage (
    step_run_id TEXT NOT NULL, run_id TEXT NOT NULL, step_id TEXT NOT NULL, digest TEXT NOT NULL,
    direction TEXT NOT NULL, name TEXT NOT NULL, reused INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX lineage_digest ON lineage (digest);
  CREATE INDEX lineage_step_run ON lineage (step_run_id);
  CREATE INDEX lineage_run ON lineage (run_id);
  CREATE TABLE stat_index (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
    ino INTEGER NOT NULL, digest TEXT NOT NULL);
  CREATE TABLE pins (digest TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (digest, owner));
  `,
  // Step durations for scheduling priorities: without it, every run read every step run of the
  // pipeline's history (cached re-runs included) to find the recent uncached ones.
  `
  CREATE INDEX step_runs_durations ON step_runs (finished_at) WHERE status = 'succeeded' AND cached = 0
    AND item_index = -1;
  `,
  // Run leases: one owner per run, identified beyond its pid (see process-identity.ts).
  `
  CREATE TABLE run_leases (
    run_id TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, boot_id TEXT NOT NULL,
    start_ticks INTEGER NOT NULL, token TEXT NOT NULL, acquired_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL
  );
  `,
  // The API's run list: newest runs of the whole home, and runs by status (the running ones are
  // reconciled on every list), without a scan and sort of every run.
  `
  CREATE INDEX runs_created ON runs (created_at);
  CREATE INDEX runs_status ON runs (status, created_at);
  `,
  // Experiment tracking: metric points (with an optional step/epoch index) and run tags, by step run.
  `
  CREATE TABLE metrics (
    step_run_id TEXT NOT NULL, run_id TEXT NOT NULL, step_id TEXT NOT NULL, item_index INTEGER NOT NULL,
    attempt INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, step INTEGER, goal TEXT, ts INTEGER NOT NULL
  );
  CREATE INDEX metrics_step_run ON metrics (step_run_id, name);
  CREATE INDEX metrics_run ON metrics (run_id);
  CREATE TABLE run_tags (
    step_run_id TEXT NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, ts INTEGER NOT NULL
  );
  CREATE INDEX run_tags_step_run ON run_tags (step_run_id);
  CREATE INDEX run_tags_run ON run_tags (run_id);
  `,
  // The pipeline bundle a run planned with, recorded so that gc and resume find it.
  `ALTER TABLE runs ADD COLUMN bundle_digest TEXT;`,
  // The step ids the run planned (RunRecord.steps), JSON.
  `ALTER TABLE runs ADD COLUMN steps TEXT;`,
];
