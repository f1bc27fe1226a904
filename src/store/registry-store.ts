/**
 * The model registry: named models, numbered versions, aliases (`staging`, `production`, any
 * name) with a full history, and the prediction log of the model server. Async and free of
 * driver types, so SQLite (embedded) and PostgreSQL (at scale) implement it without callers
 * changing. One conformance suite (test/registry/registry-conformance.ts) runs on every backend,
 * and the errors below are built here so that every backend reports them identically.
 */
import { TrainyardError } from "../core/errors.js";

/**
 * The outcome of one gate (metric vs production, fairness, latency, size) for a candidate; the
 * same shape as `lib/gates` produces, restated here because the store sits below lib.
 */
export interface GateVerdict {
  gate: string;
  /** "no-baseline" (nothing to compare with yet, e.g. the first model) is not a failure. */
  status: "pass" | "fail" | "no-baseline";
  kind?: string;
  /** Why, in words ("auc 0.71 < production 0.74"). */
  message?: string;
  evidence?: Record<string, unknown>;
}

/** What a pipeline step (or a user) hands the registry to record a model version. */
export interface RegisterVersionInput {
  model: string;
  /** Digest of the model artifact (a directory holding `bundle.json`). */
  artifactDigest: string;
  runId?: string;
  stepRunId?: string;
  /** Digests of the datasets the model was trained on. */
  dataDigests?: string[];
  /** Digest of the reference profile drift is measured against. */
  referenceProfileDigest?: string;
  params?: Record<string, unknown>;
  codeFingerprint?: string;
  metrics?: Record<string, unknown>;
  /** When `metrics` were measured (epoch ms). @default now, when metrics are given */
  metricsMeasuredAt?: number;
  /** The run that measured `metrics`. @default runId */
  metricsRunId?: string;
  gates?: GateVerdict[];
  description?: string;
}

export interface ModelVersionRecord {
  model: string;
  /** 1, 2, 3... per model, never reused. */
  version: number;
  artifactDigest: string;
  runId?: string;
  stepRunId?: string;
  dataDigests: string[];
  referenceProfileDigest?: string;
  params: Record<string, unknown>;
  codeFingerprint?: string;
  /** Measured once, when the version was registered: registering the same artifact again keeps them. */
  metrics: Record<string, unknown>;
  /**
   * When and by which run `metrics` were measured (absent without metrics, or for versions registered before this was
   * recorded).
   */
  metricsMeasuredAt?: number;
  metricsRunId?: string;
  gates: GateVerdict[];
  description?: string;
  createdAt: number;
}

export interface ModelSummary {
  name: string;
  latestVersion: number;
  versionCount: number;
  /** alias -> version */
  aliases: Record<string, number>;
  createdAt: number;
  updatedAt: number;
}

export interface AliasRecord {
  model: string;
  alias: string;
  version: number;
  actor: string;
  updatedAt: number;
  /** Set while a person's decision holds the alias (a rollback, a forced promotion). */
  pin?: AliasPin;
}

/** A person's decision on an alias that automated moves leave alone until it is released. */
export interface AliasPin {
  /** Who pinned it ("user:ana", "cli") and why. */
  by: string;
  reason?: string;
  at: number;
  /** The move that pinned it. */
  action: "set" | "rollback";
  /** The version it was moved away from: automation never brings that artifact back while pinned. */
  replacedVersion?: number;
}

/** How an automated move treats a pinned alias: leave it ("respect"), or replace it with a candidate
 *  that is not the artifact moved away from and passed every gate, including one against the pinned version. */
export type PinPolicy = "respect" | "replace-if-better";

/** One move of an alias; `fromVersion` is absent when the alias was created. */
export interface AliasEvent {
  id: number;
  model: string;
  alias: string;
  /** "unpin" releases a pin and moves nothing (from and to are the current version). */
  action: "set" | "rollback" | "delete" | "unpin";
  fromVersion?: number;
  toVersion?: number;
  /** Who moved it: "run:<id>", "user:<name>", "cli". */
  actor: string;
  reason?: string;
  /** True when a failed gate was overridden. */
  forced: boolean;
  /** Whether the alias is pinned after this event. */
  pinned: boolean;
  /** The run that moved it, what triggered that run, and the OS or API user behind the move. */
  runId?: string;
  trigger?: string;
  user?: string;
  at: number;
}

export interface AliasChangeOptions {
  /** Who moves the alias. @default "cli" */
  actor?: string;
  reason?: string;
  /** Promote even though a gate failed (recorded as forced); a person's forced promotion pins the alias.
   *  @default false */
  force?: boolean;
  /** The run moving the alias, its trigger and the user behind the move; kept in the history. */
  runId?: string;
  trigger?: string;
  user?: string;
  /** A pipeline's move rather than a person's: never forced, and refused on a pinned alias unless
   *  `pinPolicy` allows it. @default false */
  automated?: boolean;
  /** How an automated move treats a pinned alias. @default "respect" */
  pinPolicy?: PinPolicy;
}

/** A rollback is a person's decision: never forced, never automated. */
export type RollbackOptions = Omit<AliasChangeOptions, "force" | "automated" | "pinPolicy">;

/** The pin a rollback leaves: automation never brings back the version it moved away from. */
export function rollbackPin(opts: RollbackOptions, replacedVersion: number): AliasPin {
  return { by: opts.actor ?? "cli", reason: opts.reason, at: Date.now(), action: "rollback", replacedVersion };
}

/** Options of `unpin`: a reason is required, as for every override of a person's decision. */
export interface UnpinOptions {
  actor?: string;
  reason: string;
  user?: string;
}

export interface AliasChange {
  alias: AliasRecord;
  /** Absent when the alias already pointed at the version (nothing changed, nothing recorded). */
  event?: AliasEvent;
}

/** One sampled request of the model server. */
export interface PredictionLogEntry {
  model: string;
  version: number;
  alias: string;
  ts: number;
  input: unknown;
  output: unknown;
  latencyMs: number;
  /** The id the server returned for the request; row i of it is labelled as `<predictionId>.<i>`. */
  predictionId?: string;
  /** One key per input row, from the server's declared row-key column (null where a row had none). */
  rowKeys?: Array<string | null>;
}

/** The id that labels row `row` of a logged request; a single-row request's own id labels its row too. */
export function rowPredictionId(predictionId: string, row: number): string {
  return `${predictionId}.${row}`;
}

/** The served predictions of one alias logged in [from, to), oldest first. */
export interface PredictionLogRange {
  model: string;
  alias: string;
  /** Inclusive, ms since the epoch. */
  from: number;
  /** Exclusive, ms since the epoch. */
  to: number;
  /** Most entries returned (the oldest ones). @default 100000 */
  limit?: number;
}

/** What `prunePredictionLogs` removes; an absent bound removes nothing by it. */
export interface PredictionLogPrune {
  /** Rows logged before this time (ms since the epoch) go. */
  before?: number;
  /** Rows beyond the newest this many go (ids may have gaps, so at most this many remain). */
  keepRows?: number;
  /** Most rows deleted by one call. */
  limit: number;
}

/** The outcome of a deploy hook run after an alias moved. */
export interface DeployHookResult {
  eventId: number;
  hook: string;
  ok: boolean;
  detail?: string;
  at: number;
}

export interface RegistryStore {
  readonly backend: string;
  /** Registers a version; the same artifact digest for a model returns the existing version. */
  registerVersion(input: RegisterVersionInput): Promise<{ version: ModelVersionRecord; created: boolean }>;
  /** A version by number, or by alias name when `ref` is a string. */
  getVersion(model: string, ref: number | string): Promise<ModelVersionRecord | undefined>;
  listModels(): Promise<ModelSummary[]>;
  getModel(model: string): Promise<ModelSummary | undefined>;
  /** Newest first. */
  listVersions(model: string): Promise<ModelVersionRecord[]>;
  getAlias(model: string, alias: string): Promise<AliasRecord | undefined>;
  /** Every alias, or those of one model. */
  listAliases(model?: string): Promise<AliasRecord[]>;
  /** Points an alias at a version; refuses unknown versions and failed gates unless forced. */
  setAlias(model: string, alias: string, version: number, opts?: AliasChangeOptions): Promise<AliasChange>;
  /** Moves the alias back to the version it pointed at before its latest move, and pins it there. */
  rollback(model: string, alias: string, opts?: RollbackOptions): Promise<AliasChange>;
  /** Releases the pin of an alias, recorded in its history; ALIAS_NOT_PINNED when it has none. */
  unpin(model: string, alias: string, opts: UnpinOptions): Promise<AliasEvent>;
  deleteAlias(model: string, alias: string, opts?: Omit<AliasChangeOptions, "force">): Promise<AliasEvent>;
  /** Oldest first. */
  aliasHistory(model: string, alias?: string): Promise<AliasEvent[]>;
  /** A number that grows whenever any alias moves: a cheap query for watchers to poll. */
  aliasRevision(): Promise<number>;

  appendPredictionLogs(entries: PredictionLogEntry[]): Promise<void>;
  /** Newest first. @default limit 100 */
  listPredictionLogs(filter: { model: string; alias?: string; limit?: number }): Promise<PredictionLogEntry[]>;
  /** The log of one alias within a time range, oldest first: what a monitor's windows read. */
  readPredictionLog(range: PredictionLogRange): Promise<PredictionLogEntry[]>;
  /**
   * Deletes up to `limit` of the oldest prediction log rows that are older than `before` (ms since
   * the epoch) or beyond the newest `keepRows` rows; returns how many went. Only the oldest
   * `limit` rows are looked at, so each call is cheap and repeated calls converge.
   */
  prunePredictionLogs(policy: PredictionLogPrune): Promise<number>;
  recordDeployHook(result: DeployHookResult): Promise<void>;
  listDeployHooks(eventId: number): Promise<DeployHookResult[]>;

  close(): Promise<void>;
}

/** Names of models and aliases: safe in URLs, file names and CLI refs (`name@alias`). */
export const REGISTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Errors every backend raises, so callers and tests see the same codes and hints. */
export const registryErrors = {
  invalidName(kind: "model" | "alias", name: string): TrainyardError {
    return new TrainyardError("REGISTRY_INVALID_NAME", `invalid ${kind} name "${name}"`, {
      [kind]: name,
      hint: "use letters, digits, '.', '_' or '-', starting with a letter or digit; an alias cannot be a number",
    });
  },
  unknownModel(model: string): TrainyardError {
    return new TrainyardError("NOT_FOUND", `no model "${model}" in the registry`, {
      model,
      hint: "list registered models with `trainyard models list`",
    });
  },
  unknownVersion(model: string, version: number, latest: number): TrainyardError {
    return new TrainyardError("NOT_FOUND", `model "${model}" has no version ${version} (latest is ${latest})`, {
      model,
      version,
      hint: `see its versions with \`trainyard models show ${model}\``,
    });
  },
  unknownAlias(model: string, alias: string, known: string[]): TrainyardError {
    return new TrainyardError("NOT_FOUND", `model "${model}" has no alias "${alias}"`, {
      model,
      alias,
      hint: known.length
        ? `its aliases are ${known.join(", ")}`
        : `promote a version first: \`trainyard models promote ${model}@<version> --alias ${alias}\``,
    });
  },
  gateFailed(model: string, version: number, alias: string, failed: GateVerdict[]): TrainyardError {
    const why = failed.map((g) => (g.message ? `${g.gate} (${g.message})` : g.gate)).join(", ");
    return new TrainyardError(
      "GATE_FAILED",
      `refusing to point ${model}@${alias} at version ${version}: failed gate${failed.length > 1 ? "s" : ""} ${why}`,
      {
        model,
        version,
        alias,
        gates: failed.map((g) => g.gate),
        hint:
          `promote a version that passed its gates, ` +
          `or override with --force --reason "<why>" (recorded in the alias history)`,
      },
    );
  },
  aliasPinned(model: string, alias: string, current: number, version: number, pin: AliasPin, why: string) {
    const by = `${pin.by}${pin.reason ? ` (${pin.reason})` : ""}`;
    const unpin = `trainyard models unpin ${model} --alias ${alias} --reason "<why>"`;
    const pinned = `${model}@${alias} is pinned at version ${current} by ${by}`;
    const message = `${pinned}; not moving it to version ${version}: ${why}`;
    return new TrainyardError("ALIAS_PINNED", message, {
      model,
      alias,
      version,
      hint: `release the pin with \`${unpin}\`, or give the deploy step pinPolicy: "replace-if-better"`,
    });
  },
  notPinned(model: string, alias: string): TrainyardError {
    const hint = `see its pins and history with \`trainyard models show ${model}\``;
    return new TrainyardError("ALIAS_NOT_PINNED", `${model}@${alias} is not pinned`, { model, alias, hint });
  },
  nothingToRollBack(model: string, alias: string): TrainyardError {
    return new TrainyardError("NO_ROLLBACK_TARGET", `alias ${model}@${alias} has no earlier version to roll back to`, {
      model,
      alias,
      hint: `see its history with \`trainyard models show ${model}\`; promote a version explicitly instead`,
    });
  },
};

/** Gates that failed; a version with any cannot be promoted without `force`. */
export function failedGates(gates: readonly GateVerdict[]): GateVerdict[] {
  return gates.filter((g) => g.status === "fail");
}

export function checkRegistryName(kind: "model" | "alias", name: string): void {
  if (!REGISTRY_NAME.test(name) || (kind === "alias" && /^\d+$/.test(name)))
    throw registryErrors.invalidName(kind, name);
}

/**
 * Replays an alias's history as a stack of the versions it held: a move pushes the version it
 * left, a rollback pops. So rolling back twice after 1 -> 2 -> 3 lands on 1, not back on 3.
 */
export function rollbackTarget(history: readonly AliasEvent[]): number | undefined {
  const stack: Array<number | undefined> = [];
  for (const e of history) {
    if (e.action === "unpin") continue;
    if (e.action === "rollback") stack.pop();
    else stack.push(e.fromVersion);
  }
  return stack[stack.length - 1];
}

/**
 * Why an automated move of a pinned alias to `target` is refused, or undefined when the pin policy
 * allows it: never the artifact moved away from, only with every gate passed, and only when a gate
 * compared the candidate with the pinned version itself and passed.
 */
export function pinRefusal(
  pin: AliasPin,
  current: number,
  target: ModelVersionRecord,
  replacedDigest: string | undefined,
  policy: PinPolicy = "respect",
): string | undefined {
  const v = target.version;
  const moved = pin.action === "rollback" ? "rolled back" : "replaced";
  if (replacedDigest === target.artifactDigest) {
    return `version ${v} is the artifact that was ${moved} (version ${pin.replacedVersion})`;
  }
  if (policy !== "replace-if-better") return `automated runs leave a pinned alias alone (pin policy "respect")`;
  const failed = failedGates(target.gates);
  const names = failed.map((g) => g.gate).join(", ");
  if (failed.length) return `version ${v} failed gate${failed.length > 1 ? "s" : ""} ${names}`;
  const comparative = (g: GateVerdict) => g.kind === "relative" || g.kind === "significance";
  const beatPinned = (g: GateVerdict) =>
    g.status === "pass" && comparative(g) && g.evidence?.productionVersion === current;
  const beat = target.gates.some(beatPinned);
  if (!beat) return `no gate of version ${v} compared it with the pinned version ${current} and passed`;
  return undefined;
}

/** The reason recorded when an automated move replaces a pin its policy allowed it to replace. */
export function pinReplacedReason(reason: string | undefined, pin: AliasPin): string {
  return `${reason ? `${reason}; ` : ""}replaced the pin of ${pin.by} (pin policy "replace-if-better")`;
}

/** What a `setAlias` records: whether it was forced, the pin the alias holds after it, and why. */
export interface PlannedSet {
  forced: boolean;
  pin?: AliasPin;
  reason?: string;
}

/**
 * Decides a `setAlias` the same way on every backend: failed gates need a person's force (never
 * automation's); automation passes a pin only as `pinRefusal` allows, and that move releases it;
 * a person's forced move pins the alias, and a person's move of a pinned alias keeps it pinned.
 */
export function planAliasSet(
  target: ModelVersionRecord,
  alias: string,
  current: AliasRecord | undefined,
  replacedDigest: string | undefined,
  opts: AliasChangeOptions,
): PlannedSet {
  const automated = opts.automated === true;
  const failed = failedGates(target.gates);
  if (failed.length && (!opts.force || automated)) {
    throw registryErrors.gateFailed(target.model, target.version, alias, failed);
  }
  const forced = failed.length > 0 && !automated;
  const pin = current?.pin;
  if (automated) {
    if (!pin) return { forced, reason: opts.reason };
    const why = pinRefusal(pin, current!.version, target, replacedDigest, opts.pinPolicy);
    if (why) throw registryErrors.aliasPinned(target.model, alias, current!.version, target.version, pin, why);
    return { forced, reason: pinReplacedReason(opts.reason, pin) };
  }
  if (!opts.force && !pin) return { forced, reason: opts.reason };
  const replacedVersion = current?.version;
  const next: AliasPin = {
    by: opts.actor ?? "cli",
    reason: opts.reason,
    at: Date.now(),
    action: "set",
    replacedVersion,
  };
  return { forced, pin: next, reason: opts.reason };
}

/** The metrics' provenance columns a backend stores with a new version: measured now by the registering run. */
export function metricsProvenance(
  input: RegisterVersionInput,
  now: number,
): { metrics_measured_at: number | null; metrics_run_id: string | null } {
  const measured = input.metrics !== undefined && Object.keys(input.metrics).length > 0;
  return {
    metrics_measured_at: measured ? (input.metricsMeasuredAt ?? now) : null,
    metrics_run_id: measured ? (input.metricsRunId ?? input.runId ?? null) : null,
  };
}
