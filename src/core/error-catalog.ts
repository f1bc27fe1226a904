/**
 * Every error code the product raises, with the hint a user gets when the place that raised it
 * has nothing more specific to say. `ErrorCode` is derived from this table, so a code cannot be
 * thrown without an entry here, and docs and the HTTP API list codes from one place.
 */
export const ERROR_CATALOG = {
  // Pipelines, params and modules
  PIPELINE_INVALID: "fix the pipeline definition the message names",
  PIPELINE_CYCLE: "a step cannot depend on itself through other steps; remove one of the edges listed",
  MISSING_INPUT: "wire the input to a step of the same pipeline",
  DUPLICATE_STEP: "give every step of a pipeline its own id",
  STEP_UNKNOWN: "name a step the pipeline has (the message lists them)",
  UNKNOWN_PARAM: "pass only the params the pipeline declares (see `trainyard plan`)",
  PARAM_INVALID: "pass a value that matches the param's schema",
  PARAM_NOT_DECLARED: "list every param the step's function reads in its `params` option",
  PROFILE_UNKNOWN: "use a profile the pipeline or trainyard.config.ts defines",
  CONFIG_INVALID: "fix the field of trainyard.config.ts the message names",
  MODULE_LOAD: "fix the module so that it loads: run it with `node --import tsx` to see the error in isolation",
  TYPE_CHECK_FAILED: "fix the type errors listed (`trainyard check <pipeline.ts>`), or pass --no-typecheck",
  TYPESCRIPT_MISSING: "install TypeScript next to the pipeline (npm i -D typescript) to type-check it",
  USAGE: "run `trainyard help` for the commands and their options",
  EXECUTOR_UNKNOWN: "set `executor` in trainyard.config.ts to a registered executor (the message lists them)",

  // Runs, steps and artifacts
  STEP_FAILED: "read the step's log with `trainyard logs <run> <step>`, fix it, then `trainyard resume <run>`",
  STEP_TIMEOUT: "raise the step's `timeout`, or make it faster",
  STEP_CANCELLED: "the run was cancelled; `trainyard resume <run>` continues it",
  COMMAND_FAILED: "read the command's output with `trainyard logs <run> <step>`",
  OUTPUT_INVALID: "return JSON, or files declared with ctx.file/ctx.dataset/ctx.model inside ctx.workdir",
  ARTIFACT_WRITE: "check the disk holding the home has space and is writable",
  ARTIFACT_SOURCE_CHANGED: "store the file again once nothing writes to it any more",
  ARTIFACT_MISSING: "run `trainyard fsck --repair`, then `trainyard resume <run>` recomputes it",
  ARTIFACT_CORRUPT: "run `trainyard fsck --repair`, then `trainyard resume <run>` recomputes it",
  OBJECT_STORE_UNAVAILABLE:
    "check the object store's endpoint, bucket and credentials" +
    " (store.artifacts in trainyard.config.ts, AWS_* variables)",
  DIGEST_INVALID:
    "write a digest as <scheme>:<64 hex digits> (sha256, sha256-blocks-8m or sha256-tree; docs/digests.md)",
  GC_REFUSED: "point gc at the metadata that belongs to this artifact store",
  NOT_FOUND: "list what exists with `trainyard runs` or `trainyard models list`",
  RUN_NOT_RESUMABLE: "start a new run with `trainyard run`",
  RUN_OWNED: "wait for the process that owns the run, or stop it first",
  RUN_EXISTS: "choose another run id, or resume the run that has this one",
  RUN_AMBIGUOUS: "type more characters of the run id, or the full id (`trainyard runs` lists them)",
  TASK_INVALID: "run the orchestrator and its workers on the same Trainyard version",
  WORKER_LOST:
    "a worker died while running the step (killed, out of memory, " +
    "machine lost); see the workers' logs, then `trainyard resume <run>`",
  WORKER_MISSING_DEPENDENCY:
    "install what the message names on that worker (or send the step to a queue whose workers have it), " +
    "then `trainyard resume <run>`",
  QUEUE_UNAVAILABLE: "start Redis or fix `executor.redis` in trainyard.config.ts (or $TRAINYARD_REDIS_URL)",
  QUEUE_FULL:
    "raise the queue store's memory limit (Redis `maxmemory`) or free it (`trainyard gc` removes finished " +
    "jobs), then `trainyard resume <run>` hands over the steps left",
  USER_ERROR: "read the step's log with `trainyard logs <run> <step>`",

  // Metadata and the registry
  METADATA_CORRUPT: "restore the metadata database from a backup; `trainyard fsck` lists what the store holds",
  METADATA_UNAVAILABLE: "check the metadata database is reachable (TRAINYARD_METADATA_URL or the config)",
  REGISTRY_UNSUPPORTED: "use a metadata store with a model registry (SQLite or PostgreSQL)",
  REGISTRY_UNAVAILABLE: "check the metadata database is reachable",
  REGISTRY_INVALID_NAME: "use letters, digits, dots, dashes and underscores in model and alias names",
  NO_ROLLBACK_TARGET: "the alias has no earlier version to roll back to; promote one by number",
  ALIAS_PINNED: "release the pin with `trainyard models unpin <name> --alias <alias> --reason ...`",
  ALIAS_NOT_PINNED: "nothing to release: the alias is not pinned",
  BUNDLE_INVALID: "re-register the model from a run that succeeded",
  DEPLOY_HOOK_FAILED: "check <home>/deploy-hooks.json and the hook's endpoint or command",
  GATE_FAILED: "see the gate verdicts with `trainyard show <run>`",
  DRIFT_DETECTED: "open the drift report (`trainyard report <run> <step>`), or relax the threshold",

  // Triggers, the daemon and notifications
  TRIGGER_INVALID: "fix the trigger declaration the message names",
  TRIGGER_FAILED: "see the trigger's ticks with `trainyard triggers history <pipeline/name>`",
  MONITOR_LABELS: "check the monitor's `labels` source and key column",
  MONITOR_METRIC: "use a metric the monitor supports for this model's task",
  DAEMON_STALE: "restart `trainyard daemon`, and look at its log for why it stopped",
  DAEMON_NOT_RUNNING: "start `trainyard daemon` (or `trainyard up`) for this home",
  NOTIFY_FAILED: "check the webhook URL or command in <home>/notifications.json",

  // The data library
  FILE_NOT_FOUND: "check the path, relative to the pipeline module",
  FILE_UNREADABLE: "check the file's permissions and that it is not being written",
  EMPTY_FILE: "the file has no bytes: land it again",
  EMPTY_DATASET: "the data has no rows: check the source and the filters before this step",
  UNSUPPORTED_FORMAT: "use CSV, Parquet or JSON, or give `format` explicitly",
  MALFORMED_ROW: "fix the row the message names, or clean the file first",
  MIXED_TYPES: "give the column one type, or cast it in a SQL step",
  INVALID_ENCODING: "save the file as UTF-8",
  NON_FINITE_VALUE: "replace infinities and NaN before this step (an impute transform, or SQL)",
  COLUMN_NOT_FOUND: "use a column the data has (the message lists them)",
  COLUMN_TYPE: "cast the column, or change the step's options to match its type",
  INVALID_OPTION: "fix the option the message names",
  CONTRACT_INVALID: "fix the contract field the message names",
  CONTRACT_VIOLATION: "open the contract report; fix the data, or relax the contract if the change is expected",
  QUERY_FAILED: "fix the SQL the message quotes",
  STALE_DATA: "land fresher data, or relax the contract's freshness rule",

  // Rows sent to a model (training, evaluation and the server)
  NOT_AN_OBJECT: "send each row as a JSON object of column names to values",
  MISSING_FIELD: "send every input column the model was trained on",
  UNKNOWN_FIELD: "send only the model's input columns",
  WRONG_TYPE: "send the field with the type the model was trained on",
  NULL_VALUE: "send a value, or train with an impute transform for this column",
  NON_FINITE: "send a finite number",
  INVALID_TIMESTAMP: "send an ISO 8601 timestamp",
  LENGTH_MISMATCH: "score the same rows you take labels from",

  // Training, models and metrics
  EMPTY_TRAINING_SET: "check the split: the training data has no rows",
  SINGLE_CLASS_LABEL: "the label has one class only: check the label column and the split",
  ALL_CONSTANT_FEATURES: "every feature is constant: check the feature spec and the data",
  NAN_LABEL: "drop or fill rows whose label is missing",
  INVALID_LABEL: "use the label values the task expects (0/1 for binary)",
  MISSING_VALUES: "impute missing values with a transform before training",
  FEATURE_MISMATCH: "score with the features the model was trained on",
  UNKNOWN_FORMAT: "use a model format Trainyard loads (gbdt, linear, xgboost-json, onnx)",
  INVALID_MODEL_JSON: "export the model again: the JSON does not describe a model",
  OPTIONAL_DEPENDENCY_MISSING: "install the package the message names next to trainyard (e.g. npm i onnxruntime-node)",
  ONNX_ERROR: "check the ONNX model with onnxruntime, and that onnxruntime-node is installed",
  METRIC_INPUT: "score the same rows you take labels from",
  MODEL_MISMATCH: "the imported model scores differently from its trainer: check the feature names and order",
  PYTHON_MISSING: "install Debian's python3 and the packages the message names (apt-get install python3-...)",

  // The model server's HTTP edge
  BAD_REQUEST: "see the message for what the request is missing",
  BODY_TOO_LARGE: "send fewer rows per request, or raise the server's --max-body",
  EMPTY_BODY: 'send a JSON body: {"rows": [...]}',
  INVALID_BODY: 'send a JSON body: {"rows": [...]}',
  INVALID_JSON: "send valid JSON",
  EMPTY_ROWS: "send at least one row",
  MISSING_ROWS: 'send the rows as {"rows": [...]}',
  INVALID_ROWS: 'send the rows as an array of objects: {"rows": [...]}',
  AMBIGUOUS_ROWS: 'send either "rows" or "instances", not both',
  TOO_MANY_ROWS: "send fewer rows per request",
  METHOD_NOT_ALLOWED: "use the method the Allow header lists",
  MODEL_NOT_FOUND: "list the served models with GET /v1/models",
  MODEL_UNAVAILABLE: "the version's bundle did not load (see the message): roll the alias back, or fix and re-register",
  REGISTRY_EMPTY: "register a model first: run a pipeline with a register step",
  PREDICT_FAILED: "the model failed on these rows: see the server's log",
  UNAUTHORIZED: "send Authorization: Bearer <token>",
  REJECTED: "the request was refused: see the message",
  SERVE_TOKEN_REQUIRED: "give --token (or TRAINYARD_SERVE_TOKEN) to listen beyond loopback",
  SERVE_TOKEN_INVALID: "use a token of at least 16 characters",
  SERVE_OPTIONS_INVALID: "fix the serve option the message names",
  K8S_EXPORT_INVALID: "fix the export option or the step's pool the message names; names must be DNS-1123 labels",

  // The HTTP API
  API_FORBIDDEN: "send the request from the UI's own origin (with X-Requested-With), or with the API token",
  API_READ_ONLY: "this server was started with --read-only: start it without to change anything",
  API_BODY_TOO_LARGE: "send a smaller request body",
  API_UI_MISSING: "build the web UI with `npm run build` (npm ci does it)",
  IDEMPOTENCY_CONFLICT: "use a new Idempotency-Key for a different request",
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

declare const USER_CODE: unique symbol;
/** A code from a user's own error (e.g. `ECONNRESET`), kept as is when the engine wraps it. */
export type UserCode = string & { readonly [USER_CODE]: true };

/** A stored or foreign code as an error code: the catalog's when it is one, else kept as the user's. */
export function asErrorCode(code: string): ErrorCode | UserCode {
  return isErrorCode(code) ? code : (code as UserCode);
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOG, code);
}

const DISK_FULL =
  "the disk is full: free space (`trainyard gc` removes what no kept run needs) or move the home " +
  "(--home, $TRAINYARD_HOME) to a larger disk, then `trainyard resume <run>` continues the run";

/**
 * Hints for codes that come from below the product (the OS, SQLite) rather than from the catalog:
 * an error carrying one of these, without a hint of its own, is described with it.
 */
export const SYSTEM_HINTS: Readonly<Record<string, string>> = {
  ENOSPC: DISK_FULL,
  EDQUOT: DISK_FULL,
  SQLITE_FULL: `the metadata database cannot grow: ${DISK_FULL}`,
};

/** The catalog's hint for a code. */
export function defaultHint(code: ErrorCode | UserCode): string | undefined {
  return isErrorCode(code) ? ERROR_CATALOG[code] : undefined;
}
