/**
 * Triggers that fire on events rather than files or the clock: a SQL query's result, a user
 * function returning run requests, and the end of another pipeline's run. Declarations are
 * plain options; the compile functions here validate them and fill defaults, naming the trigger.
 */
import { TrainyardError } from "./errors.js";
import { parseDuration, triggerInvalid, type Duration } from "./trigger-time.js";
import type { CompiledRequest, RunRequestSpec, TriggerOwner } from "./triggers.js";

export type SqlEngine = "duckdb" | "sqlite" | "postgres";

/** Where a SQL sensor's query runs. Relative files are read from the pipeline module's folder. */
export interface SqlSource {
  engine: SqlEngine;
  /** A SELECT; small results only (aggregate in SQL): more than `maxRows` rows is an error. */
  query: string;
  /** sqlite: the database file (required, opened read-only); duckdb: a database file to attach read-only. */
  file?: string;
  /** postgres: the connection URL (required), e.g. `process.env.WAREHOUSE_URL`. */
  url?: string;
}

export interface SqlSensorSpec<P> extends RunRequestSpec<P> {
  sql: SqlSource;
  /** A column whose value in the first row says "new data" when it changes (e.g. max(updated_at)). @default none */
  cursorColumn?: string;
  /** A column keying each row: every row with a key not in the previous result is its own event. @default none */
  keyColumn?: string;
  /** Run params taken from result columns: param name -> column name. @default none */
  paramsFrom?: Partial<Record<keyof P & string, string>>;
  /** How often the daemon runs the query. @default "30s" */
  interval?: Duration;
  /** The query is cancelled after this long (DuckDB and PostgreSQL). @default "30s" */
  timeout?: Duration;
  /** More rows than this is an error rather than a slow digest. @default 10000 */
  maxRows?: number;
}

/** The latest run this trigger started, for a function sensor deciding what to request. */
export interface LastRunInfo {
  id: string;
  status: string;
  createdAt: number;
  finishedAt?: number;
  params: Record<string, unknown>;
}

export interface FunctionSensorContext {
  /** What the function returned as `cursor` last time (JSON); undefined on the first evaluation. */
  cursor: unknown;
  now: Date;
  lastRun?: LastRunInfo;
  /** The trigger's name. */
  trigger: string;
}

export interface FunctionSensorRequest<P> {
  /** Unique per event: a key already requested is not requested again. */
  key: string;
  /** On top of the sensor's own `params`. */
  params?: Partial<P>;
  profile?: string;
  /** Why, in words, for the run's record. @default "function returned key <key>" */
  reason?: string;
}

export interface FunctionSensorResult<P> {
  requests?: readonly FunctionSensorRequest<P>[];
  /** JSON handed back as `cursor` next time. @default the previous cursor */
  cursor?: unknown;
  /** Why nothing was requested, in words, recorded on the evaluation. @default none */
  skipReason?: string;
}

export interface FunctionSensorSpec<P> extends RunRequestSpec<P> {
  evaluate: (ctx: FunctionSensorContext) => FunctionSensorResult<P> | Promise<FunctionSensorResult<P>>;
  /** How often the daemon calls the function. @default "30s" */
  interval?: Duration;
}

export type RunEndStatus = "succeeded" | "failed" | "rejected" | "cancelled" | "interrupted";
const END_STATUSES: readonly RunEndStatus[] = ["succeeded", "failed", "rejected", "cancelled", "interrupted"];

export interface RunStatusSpec<P> extends RunRequestSpec<P> {
  /** The pipeline whose finished runs start this one. */
  pipeline: string;
  /** Which endings count. @default ["succeeded"] */
  status?: RunEndStatus | readonly RunEndStatus[];
  /** Params of the finished run copied to the requested one (same names). @default none */
  forwardParams?: readonly (keyof P & string)[];
  /** How often the daemon looks at the metadata store. @default "5s" */
  interval?: Duration;
}

/** Throws the error `trainyard run` would give for these params (unknown name, invalid value, profile). */
export type ParamCheck = (params: Record<string, unknown>, profile: string | undefined) => void;

export interface CompiledSqlSensor extends CompiledRequest {
  kind: "sensor";
  source: "sql";
  engine: SqlEngine;
  query: string;
  file?: string;
  url?: string;
  cursorColumn?: string;
  keyColumn?: string;
  paramsFrom: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
  maxRows: number;
  checkParams: ParamCheck;
}

export interface CompiledFunctionSensor extends CompiledRequest {
  kind: "sensor";
  source: "function";
  evaluate: FunctionSensorSpec<Record<string, unknown>>["evaluate"];
  intervalMs: number;
  checkParams: ParamCheck;
}

export interface CompiledRunStatusTrigger extends CompiledRequest {
  kind: "run-status";
  pipeline: string;
  statuses: RunEndStatus[];
  forwardParams: string[];
  intervalMs: number;
  checkParams: ParamCheck;
}

export function compileSqlSensor(
  base: CompiledRequest,
  spec: SqlSensorSpec<unknown>,
  owner?: TriggerOwner,
  checkParams: ParamCheck = () => undefined,
): CompiledSqlSensor {
  const name = base.name;
  const sql = spec.sql;
  if (typeof sql !== "object" || sql === null) {
    throw triggerInvalid(name, "sql", "must be an object { engine, query, file? | url? }");
  }
  const engines: readonly SqlEngine[] = ["duckdb", "sqlite", "postgres"];
  if (!engines.includes(sql.engine)) {
    const got = JSON.stringify(sql.engine);
    throw triggerInvalid(name, "sql.engine", `must be one of "duckdb", "sqlite", "postgres", got ${got}`);
  }
  if (typeof sql.query !== "string" || sql.query.trim() === "") {
    throw triggerInvalid(
      name,
      "sql.query",
      "is missing",
      "write a SELECT, e.g. SELECT max(updated_at) AS watermark FROM t",
    );
  }
  if (sql.engine === "sqlite" && !nonEmpty(sql.file)) {
    throw triggerInvalid(
      name,
      "sql.file",
      "is missing: a sqlite sensor reads a database file",
      "name the file, relative to the pipeline module or absolute",
    );
  }
  if (sql.engine === "postgres" && !nonEmpty(sql.url)) {
    throw triggerInvalid(
      name,
      "sql.url",
      "is missing: a postgres sensor needs a connection URL",
      "pass it from the environment, e.g. url: process.env.WAREHOUSE_URL",
    );
  }
  if (sql.engine !== "postgres" && sql.url !== undefined) {
    throw triggerInvalid(name, "sql.url", `is for engine "postgres", not "${sql.engine}"`, "use `file` instead");
  }
  if (spec.cursorColumn !== undefined && spec.keyColumn !== undefined) {
    throw triggerInvalid(
      name,
      "keyColumn",
      "and cursorColumn cannot both be set",
      "cursorColumn: one watermark for the whole result; keyColumn: one event per new row",
    );
  }
  for (const field of ["cursorColumn", "keyColumn"] as const) {
    if (spec[field] !== undefined && !nonEmpty(spec[field])) throw triggerInvalid(name, field, "must be a column name");
  }
  const paramsFrom = (spec.paramsFrom ?? {}) as Record<string, string>;
  if (typeof paramsFrom !== "object" || paramsFrom === null || Array.isArray(paramsFrom)) {
    throw triggerInvalid(name, "paramsFrom", "must map param names to column names");
  }
  for (const [param, column] of Object.entries(paramsFrom)) {
    if (!nonEmpty(column)) throw triggerInvalid(name, `paramsFrom.${param}`, "must name a result column");
  }
  checkParamNames(name, "paramsFrom", Object.keys(paramsFrom), owner);
  const maxRows = spec.maxRows ?? 10_000;
  if (!Number.isInteger(maxRows) || maxRows < 1) {
    throw triggerInvalid(name, "maxRows", `must be a whole number >= 1, got ${maxRows}`);
  }
  return {
    ...base,
    kind: "sensor",
    source: "sql",
    engine: sql.engine,
    query: sql.query,
    file: sql.file,
    url: sql.url,
    cursorColumn: spec.cursorColumn,
    keyColumn: spec.keyColumn,
    paramsFrom: { ...paramsFrom },
    intervalMs: Math.max(50, parseDuration(name, "interval", spec.interval ?? "30s")),
    timeoutMs: Math.max(1, parseDuration(name, "timeout", spec.timeout ?? "30s")),
    maxRows,
    checkParams,
  };
}

export function compileFunctionSensor(
  base: CompiledRequest,
  spec: FunctionSensorSpec<unknown>,
  checkParams: ParamCheck = () => undefined,
): CompiledFunctionSensor {
  if (typeof spec.evaluate !== "function") {
    throw triggerInvalid(
      base.name,
      "evaluate",
      "must be a function ({ cursor, now, lastRun }) => ({ requests, cursor })",
    );
  }
  return {
    ...base,
    kind: "sensor",
    source: "function",
    evaluate: spec.evaluate as CompiledFunctionSensor["evaluate"],
    intervalMs: Math.max(50, parseDuration(base.name, "interval", spec.interval ?? "30s")),
    checkParams,
  };
}

export function compileRunStatusTrigger(
  base: CompiledRequest,
  spec: RunStatusSpec<unknown>,
  owner?: TriggerOwner,
  checkParams: ParamCheck = () => undefined,
): CompiledRunStatusTrigger {
  const name = base.name;
  if (!nonEmpty(spec.pipeline)) {
    throw triggerInvalid(name, "pipeline", "is missing", "name the pipeline whose finished runs start this one");
  }
  if (owner && spec.pipeline === owner.name) {
    throw triggerInvalid(
      name,
      "pipeline",
      `is "${owner.name}" itself: each run would start the next one, for ever`,
      "use a step's `retry` to repeat work, or watch another pipeline",
    );
  }
  const raw = spec.status ?? ["succeeded"];
  const statuses = typeof raw === "string" ? [raw] : [...raw];
  if (!Array.isArray(statuses) || statuses.length === 0) {
    throw triggerInvalid(name, "status", "must name at least one ending", `one or more of ${END_STATUSES.join(", ")}`);
  }
  for (const s of statuses) {
    if (!END_STATUSES.includes(s)) {
      throw triggerInvalid(
        name,
        "status",
        `${JSON.stringify(s)} is not how a run ends`,
        `use one or more of ${END_STATUSES.join(", ")}`,
      );
    }
  }
  const forwardParams = [...(spec.forwardParams ?? [])] as string[];
  checkParamNames(name, "forwardParams", forwardParams, owner);
  return {
    ...base,
    kind: "run-status",
    pipeline: spec.pipeline,
    statuses: [...new Set(statuses)],
    forwardParams,
    intervalMs: Math.max(50, parseDuration(name, "interval", spec.interval ?? "5s")),
    checkParams,
  };
}

/** Param names a trigger maps values into must be params of the pipeline it starts. */
function checkParamNames(trigger: string, field: string, names: readonly string[], owner?: TriggerOwner): void {
  if (!owner) return;
  const known = owner.paramsSchema ? Object.keys(owner.paramsSchema.shape) : [];
  for (const param of names) {
    if (known.includes(param)) continue;
    const message = `trigger "${trigger}": ${field} names "${param}", which is not a param of pipeline "${owner.name}"`;
    throw new TrainyardError("TRIGGER_INVALID", message, {
      trigger,
      field,
      param,
      hint: known.length ? `known params: ${known.join(", ")}` : `pipeline "${owner.name}" declares no params`,
    });
  }
}

function nonEmpty(v: unknown): v is string {
  return typeof v === "string" && v.trim() !== "";
}
