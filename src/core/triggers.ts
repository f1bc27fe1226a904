/**
 * Triggers declared next to a pipeline (or in trainyard.config.ts): schedules, sensors (files, a
 * SQL query, a function), performance monitors and run-status triggers. The declarations are plain
 * data; `compileTrigger` validates one and fills its defaults, so a bad declaration fails when the
 * module loads, naming the trigger and the field.
 */
import { isTrainyardError, TrainyardError } from "./errors.js";
import {
  compileFunctionSensor,
  compileRunStatusTrigger,
  compileSqlSensor,
  type CompiledFunctionSensor,
  type CompiledRunStatusTrigger,
  type CompiledSqlSensor,
  type FunctionSensorSpec,
  type ParamCheck,
  type RunStatusSpec,
  type SqlSensorSpec,
} from "./event-triggers.js";
import { resolveParams, type ParamsSchema } from "./params.js";
import {
  checkTimeZone,
  cronMatcher,
  parseDuration,
  parseInstant,
  triggerInvalid,
  type Duration,
  type Instant,
} from "./trigger-time.js";

export type { Duration, Instant } from "./trigger-time.js";
export type * from "./event-triggers.js";

/** What every trigger says about the run it requests. */
export interface RunRequestSpec<P> {
  /** Params of the requested run, on top of the pipeline's defaults. @default none */
  params?: Partial<P>;
  /** A profile of the pipeline for the requested run. @default none */
  profile?: string;
  description?: string;
}

export interface ScheduleSpec<P> extends RunRequestSpec<P> {
  /** Cron read in `timezone`: minute hour day-of-month month day-of-week, or 6 fields with seconds first. */
  cron: string;
  /** IANA time zone the cron pattern is read in. @default "UTC" */
  timezone?: string;
  /** No tick before this instant. @default none */
  start?: Instant;
  /** No tick after this instant. @default none */
  end?: Instant;
  /** Which missed ticks run after downtime: the most recent, all (up to maxCatchUp) or none. @default "latest" */
  catchUp?: "latest" | "all" | "none";
  /** With catchUp "all": at most this many missed ticks run, the most recent ones. @default 5 */
  maxCatchUp?: number;
  /** A tick evaluated later than this after its time is late; catchUp "none" skips late ticks. @default "1m" */
  lateAfter?: Duration;
  /** What a tick does while a run of this schedule is still active. @default "skip" */
  overlap?: OverlapPolicy;
}

export type OverlapPolicy = "skip" | "queue" | "allow" | "cancel-running";

export interface FileSensorSpec<P> extends RunRequestSpec<P> {
  /** The landing folder; a relative path is read from the pipeline module's folder. */
  folder: string;
  /** Files under the folder that count, e.g. "*.parquet" or "2026/month-*.csv". @default every file, at any depth */
  glob?: string;
  /** A file counts once its size and mtime stayed unchanged this long (or it was renamed into place). @default "1s" */
  settle?: Duration;
  /** Stable files arriving within this window of one another become one run request. @default "2s" */
  debounce?: Duration;
  /** Bytes already seen under another name: "ignore" (no run) or "run" (a new name counts). @default "ignore" */
  onSameContent?: "ignore" | "run";
  /** How often the daemon polls the folder; fs.watch only wakes it earlier. @default "1s" */
  interval?: Duration;
}

export interface MonitorSpec<P> extends RunRequestSpec<P> {
  /** Registered model name whose served predictions are watched. */
  model: string;
  /** The alias being served. @default "production" */
  alias?: string;
  /** Metric computed from predictions joined with late labels, e.g. "auc", "accuracy", "rmse". */
  metric: string;
  threshold: number;
  /** Fire when the metric is "below" the threshold (scores) or "above" it (errors). @default "below" */
  direction?: "below" | "above";
  /** Length of one evaluation window. @default "1h" */
  window?: Duration;
  /** Consecutive breaching windows before it fires. @default 3 */
  windows?: number;
  /** A window with fewer labelled rows does not count either way. @default 100 */
  minLabelledRows?: number;
  /** Re-arms only once the metric recovers past the threshold by this margin. @default 0 */
  hysteresis?: number;
  /** No new run this long after one it started (or after that run was rejected). @default "6h" */
  coolDown?: Duration;
  /** Where late labels come from: a file or table, its key (prediction id or row key) and label column. */
  labels?: { source: string; key: string; column: string };
  /** Input drift of served rows against the model's reference profile, a second signal. */
  drift?: { measure?: "psi"; threshold: number };
}

export interface CompiledRequest {
  name: string;
  params: Record<string, unknown>;
  profile?: string;
  description?: string;
}

export interface CompiledSchedule extends CompiledRequest {
  kind: "schedule";
  cron: string;
  timezone: string;
  start?: number;
  end?: number;
  catchUp: "latest" | "all" | "none";
  maxCatchUp: number;
  lateAfterMs: number;
  overlap: OverlapPolicy;
}

export interface CompiledFileSensor extends CompiledRequest {
  kind: "sensor";
  source: "files";
  folder: string;
  glob: string;
  settleMs: number;
  debounceMs: number;
  onSameContent: "ignore" | "run";
  intervalMs: number;
}

export interface CompiledMonitor extends CompiledRequest {
  kind: "monitor";
  model: string;
  alias: string;
  metric: string;
  threshold: number;
  direction: "below" | "above";
  windowMs: number;
  windows: number;
  minLabelledRows: number;
  hysteresis: number;
  coolDownMs: number;
  labels?: { source: string; key: string; column: string };
  drift?: { measure: "psi"; threshold: number };
}

export type CompiledSensor = (CompiledFileSensor | CompiledSqlSensor | CompiledFunctionSensor) & {
  overlap: OverlapPolicy;
};

export type CompiledTrigger = CompiledSchedule | CompiledSensor | CompiledMonitor | CompiledRunStatusTrigger;

/** What every sensor says about events that come while its earlier runs are active. */
export interface SensorOverlapSpec {
  /**
   * What a new event does while a run this sensor started is still active ("queue": one at a time). @default "allow"
   */
  overlap?: OverlapPolicy;
}

/** A sensor watches files under a folder, a SQL query's result, or what a function returns. */
export type SensorSpec<P> = (FileSensorSpec<P> | SqlSensorSpec<P> | FunctionSensorSpec<P>) & SensorOverlapSpec;

/** A declaration as the pipeline builder stores it: plain data, validated by compileTrigger. */
export type TriggerDecl =
  | { kind: "schedule"; name: string; spec: ScheduleSpec<any> }
  | { kind: "sensor"; name: string; spec: SensorSpec<any> }
  | { kind: "monitor"; name: string; spec: MonitorSpec<any> }
  | { kind: "run-status"; name: string; spec: RunStatusSpec<any> };

/** What compileTrigger needs to know of the pipeline. */
export interface TriggerOwner {
  name: string;
  paramsSchema?: ParamsSchema;
  profiles: Readonly<Record<string, Record<string, unknown>>>;
  /** Profiles of trainyard.config.ts; the pipeline's own win on a name clash. @default none */
  configProfiles?: Record<string, Record<string, unknown>>;
}

const TRIGGER_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

export function checkTriggerName(name: string): void {
  if (typeof name !== "string" || !TRIGGER_NAME.test(name)) {
    throw new TrainyardError("TRIGGER_INVALID", `trigger name ${JSON.stringify(name)} is not valid`, {
      trigger: String(name),
      hint: "trigger names start with a letter and use letters, digits, '_', '-' and '.'",
    });
  }
}

/**
 * Validates a declaration against the pipeline it starts. Without an owner (a declaration in
 * trainyard.config.ts, before its pipeline is known) everything but the params is checked.
 */
export function compileTrigger(decl: TriggerDecl, owner?: TriggerOwner): CompiledTrigger {
  checkTriggerName(decl.name);
  if (typeof decl.spec !== "object" || decl.spec === null) {
    throw triggerInvalid(decl.name, "options", "must be an object");
  }
  const base = compileRequest(decl.name, decl.spec, owner);
  const check: ParamCheck = owner ? (params, profile) => resolveOwnerParams(owner, params, profile) : () => undefined;
  if (decl.kind === "schedule") return compileSchedule(base, decl.spec);
  if (decl.kind === "sensor") return compileSensor(base, decl.spec, owner, check);
  if (decl.kind === "run-status") return compileRunStatusTrigger(base, decl.spec, owner, check);
  return compileMonitor(base, decl.spec);
}

/**
 * Every trigger of a pipeline, validated and with defaults filled: those of its module in
 * declaration order, then those trainyard.config.ts declares for it.
 */
export function compileTriggers(
  p: TriggerOwner & { triggers: ReadonlyMap<string, TriggerDecl> },
  config: { triggers?: readonly TriggerDecl[]; profiles?: Record<string, Record<string, unknown>> } = {},
): CompiledTrigger[] {
  const owner: TriggerOwner = { ...p, configProfiles: config.profiles ?? p.configProfiles };
  const compiled = [...p.triggers.values()].map((d) => compileTrigger(d, owner));
  for (const d of config.triggers ?? []) {
    if (p.triggers.has(d.name) || compiled.some((t) => t.name === d.name)) {
      throw new TrainyardError(
        "TRIGGER_INVALID",
        `trigger "${d.name}" of pipeline "${p.name}" is declared twice` +
          " (in the pipeline module and in trainyard.config.ts, or twice in the config)",
        {
          trigger: d.name,
          hint: "give each trigger of a pipeline a unique name",
        },
      );
    }
    compiled.push(compileTrigger(d, owner));
  }
  return compiled;
}

function resolveOwnerParams(owner: TriggerOwner, values: Record<string, unknown>, profile: string | undefined) {
  const profiles = owner.profiles as Record<string, Record<string, unknown>>;
  const sources = { profile, values, configProfiles: owner.configProfiles };
  return resolveParams(owner.name, owner.paramsSchema, profiles, sources);
}

function compileSensor(
  base: CompiledRequest,
  spec: SensorSpec<unknown>,
  owner: TriggerOwner | undefined,
  check: ParamCheck,
): CompiledSensor {
  const given = spec as unknown as Record<string, unknown>;
  const sources = (["folder", "sql", "evaluate"] as const).filter((k) => given[k] !== undefined);
  if (sources.length !== 1) {
    const got = sources.length ? `got ${sources.join(" and ")}` : "got none";
    throw triggerInvalid(
      base.name,
      "source",
      `must be exactly one of folder, sql or evaluate, ${got}`,
      "folder: files landing; sql: a query's result; evaluate: a function returning run requests",
    );
  }
  const overlap = oneOf(base.name, "overlap", spec.overlap ?? "allow", OVERLAP_POLICIES);
  if (sources[0] === "sql") return { ...compileSqlSensor(base, spec as SqlSensorSpec<unknown>, owner, check), overlap };
  if (sources[0] === "evaluate") {
    return { ...compileFunctionSensor(base, spec as FunctionSensorSpec<unknown>, check), overlap };
  }
  return { ...compileFileSensor(base, spec as FileSensorSpec<unknown>), overlap };
}

const OVERLAP_POLICIES = ["skip", "queue", "allow", "cancel-running"] as const;

function compileRequest(name: string, spec: RunRequestSpec<unknown>, owner: TriggerOwner | undefined): CompiledRequest {
  const params = (spec.params ?? {}) as Record<string, unknown>;
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw triggerInvalid(
      name,
      "params",
      "must be an object of param values",
      owner ? `name params of "${owner.name}"` : "",
    );
  }
  if (!owner) return { name, params: { ...params }, profile: spec.profile, description: spec.description };
  try {
    // The run resolves its params again when it starts; this only proves the request is valid.
    resolveOwnerParams(owner, params, spec.profile);
  } catch (err) {
    if (!isTrainyardError(err)) throw err;
    throw new TrainyardError("TRIGGER_INVALID", `trigger "${name}" requests an invalid run: ${err.message}`, {
      trigger: name,
      field: err.code === "PROFILE_UNKNOWN" ? "profile" : "params",
      param: err.fields.param,
      hint: err.hint,
      cause: err,
    });
  }
  return { name, params: { ...params }, profile: spec.profile, description: spec.description };
}

function compileSchedule(base: CompiledRequest, spec: ScheduleSpec<unknown>): CompiledSchedule {
  const timezone = checkTimeZone(base.name, spec.timezone ?? "UTC");
  cronMatcher(base.name, spec.cron, timezone);
  const start = spec.start === undefined ? undefined : parseInstant(base.name, "start", spec.start);
  const end = spec.end === undefined ? undefined : parseInstant(base.name, "end", spec.end);
  if (start !== undefined && end !== undefined && end < start) {
    throw triggerInvalid(base.name, "end", "is before start", "swap them or remove `end`");
  }
  const catchUp = oneOf(base.name, "catchUp", spec.catchUp ?? "latest", ["latest", "all", "none"] as const);
  const maxCatchUp = spec.maxCatchUp ?? 5;
  if (!Number.isInteger(maxCatchUp) || maxCatchUp < 1) {
    throw triggerInvalid(
      base.name,
      "maxCatchUp",
      `must be a whole number >= 1, got ${maxCatchUp}`,
      'use catchUp: "none" to run no missed tick',
    );
  }
  return {
    ...base,
    kind: "schedule",
    cron: spec.cron.trim(),
    timezone,
    start,
    end,
    catchUp,
    maxCatchUp,
    lateAfterMs: parseDuration(base.name, "lateAfter", spec.lateAfter ?? "1m"),
    overlap: oneOf(base.name, "overlap", spec.overlap ?? "skip", OVERLAP_POLICIES),
  };
}

function compileFileSensor(base: CompiledRequest, spec: FileSensorSpec<unknown>): CompiledFileSensor {
  if (typeof spec.folder !== "string" || spec.folder.trim() === "") {
    throw triggerInvalid(
      base.name,
      "folder",
      "is missing",
      "name the landing folder, relative to the pipeline module or absolute",
    );
  }
  const glob = spec.glob ?? "**/*";
  if (typeof glob !== "string" || glob === "" || glob.startsWith("/") || glob.split("/").includes("..")) {
    throw triggerInvalid(
      base.name,
      "glob",
      `${JSON.stringify(glob)} must be a relative pattern inside the folder`,
      'for example "*.parquet"',
    );
  }
  return {
    ...base,
    kind: "sensor",
    source: "files",
    folder: spec.folder,
    glob,
    settleMs: parseDuration(base.name, "settle", spec.settle ?? "1s"),
    debounceMs: parseDuration(base.name, "debounce", spec.debounce ?? "2s"),
    onSameContent: oneOf(base.name, "onSameContent", spec.onSameContent ?? "ignore", ["ignore", "run"] as const),
    intervalMs: Math.max(50, parseDuration(base.name, "interval", spec.interval ?? "1s")),
  };
}

function compileMonitor(base: CompiledRequest, spec: MonitorSpec<unknown>): CompiledMonitor {
  for (const field of ["model", "metric"] as const) {
    if (typeof spec[field] !== "string" || spec[field].trim() === "") {
      const what = field === "model" ? "registered model" : 'metric, e.g. "auc"';
      throw triggerInvalid(base.name, field, "is missing", `name the ${what}`);
    }
  }
  if (typeof spec.threshold !== "number" || !Number.isFinite(spec.threshold)) {
    throw triggerInvalid(base.name, "threshold", "must be a number", "the metric value at which the monitor fires");
  }
  const count = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw triggerInvalid(base.name, field, `must be a whole number >= 1, got ${v}`);
    return v;
  };
  if (spec.drift && (typeof spec.drift.threshold !== "number" || !(spec.drift.threshold > 0))) {
    throw triggerInvalid(
      base.name,
      "drift.threshold",
      "must be a number > 0",
      "PSI above 0.2 is usually read as a significant shift",
    );
  }
  return {
    ...base,
    kind: "monitor",
    model: spec.model,
    alias: spec.alias ?? "production",
    metric: spec.metric,
    threshold: spec.threshold,
    direction: oneOf(base.name, "direction", spec.direction ?? "below", ["below", "above"] as const),
    windowMs: parseDuration(base.name, "window", spec.window ?? "1h"),
    windows: count("windows", spec.windows ?? 3),
    minLabelledRows: count("minLabelledRows", spec.minLabelledRows ?? 100),
    hysteresis: spec.hysteresis ?? 0,
    coolDownMs: parseDuration(base.name, "coolDown", spec.coolDown ?? "6h"),
    labels: spec.labels,
    drift: spec.drift ? { measure: "psi", threshold: spec.drift.threshold } : undefined,
  };
}

/**
 * Monitors must watch a model some pipeline registers. The daemon calls this once it knows the
 * model names (registry and pipelines), so the error still names the trigger at load time.
 */
export function verifyMonitorModels(triggers: readonly CompiledTrigger[], knownModels: readonly string[]): void {
  for (const t of triggers) {
    if (t.kind !== "monitor" || knownModels.includes(t.model)) continue;
    const message = `trigger "${t.name}" monitors model "${t.model}", which does not exist`;
    throw new TrainyardError("TRIGGER_INVALID", message, {
      trigger: t.name,
      field: "model",
      hint: knownModels.length
        ? `known models: ${knownModels.join(", ")}`
        : "register the model first (a register step), then monitor it",
    });
  }
}

function oneOf<const T extends string>(trigger: string, field: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const choices = allowed.map((a) => `"${a}"`).join(", ");
  throw triggerInvalid(trigger, field, `must be one of ${choices}, got ${JSON.stringify(value)}`);
}
