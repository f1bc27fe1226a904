/**
 * Conversions between metadata records and PostgreSQL rows. `json` columns come back parsed by
 * node-postgres, booleans as booleans; absent optional fields are NULL in the row and
 * `undefined` (never null) in the record, as the SQLite store returns them.
 */
import type pg from "pg";
import type {
  ArtifactRecord,
  AttemptRecord,
  LineageEdge,
  RunLease,
  RunRecord,
  StepRunRecord,
} from "./metadata-store.js";

export type Row = Record<string, any>;
export type Queryable = Pick<pg.PoolClient, "query">;

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/** PostgreSQL text cannot hold NUL, which SQLite stores; a child's raw output may contain it. */
export function text(s: string): string;
export function text(s: string | undefined): string | null;
export function text(s: string | undefined): string | null {
  return s === undefined ? null : s.includes("\0") ? s.replace(/\0/g, "\uFFFD") : s;
}

const RUN_FIELDS: Record<keyof RunRecord, string> = {
  id: "id",
  pipeline: "pipeline",
  modulePath: "module_path",
  params: "params",
  profile: "profile",
  trigger: "trigger",
  status: "status",
  codeVersion: "code_version",
  createdAt: "created_at",
  startedAt: "started_at",
  finishedAt: "finished_at",
  error: "error",
  options: "options",
  pid: "pid",
  bundleDigest: "bundle_digest",
  steps: "steps",
};

/** Column -> value for every field of a run, or only for `keys` (the keys of an update patch). */
export function runColumns(r: RunRecord, keys?: string[]): Record<string, unknown> {
  const values: Record<keyof RunRecord, unknown> = {
    id: r.id,
    pipeline: r.pipeline,
    modulePath: r.modulePath,
    params: json(r.params),
    profile: text(r.profile),
    trigger: r.trigger,
    status: r.status,
    codeVersion: r.codeVersion,
    createdAt: r.createdAt,
    startedAt: r.startedAt ?? null,
    finishedAt: r.finishedAt ?? null,
    error: json(r.error),
    options: json(r.options),
    pid: r.pid ?? null,
    bundleDigest: r.bundleDigest ?? null,
    steps: json(r.steps),
  };
  const wanted = (keys ?? Object.keys(RUN_FIELDS)).filter(
    (k): k is keyof RunRecord => k in RUN_FIELDS && (keys === undefined || k !== "id"),
  );
  return Object.fromEntries(wanted.map((k) => [RUN_FIELDS[k], values[k]]));
}

export function rowToRun(r: Row): RunRecord {
  return {
    id: r.id,
    pipeline: r.pipeline,
    modulePath: r.module_path,
    params: r.params ?? {},
    profile: opt(r.profile),
    trigger: r.trigger,
    status: r.status,
    codeVersion: r.code_version,
    createdAt: r.created_at,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
    error: opt(r.error),
    options: r.options ?? {},
    pid: opt(r.pid),
    bundleDigest: opt(r.bundle_digest),
    steps: opt(r.steps),
  };
}

export const STEP_RUN_COLUMNS = [
  "id",
  "run_id",
  "step_id",
  "item_index",
  "status",
  "cache_key",
  "components",
  "cached",
  "cached_from",
  "attempts",
  "started_at",
  "finished_at",
  "duration_ms",
  "output_digest",
  "error",
  "reason",
] as const;

/** Values in STEP_RUN_COLUMNS order. */
export function stepRunValues(s: StepRunRecord): unknown[] {
  return [
    s.id,
    s.runId,
    s.stepId,
    s.itemIndex,
    s.status,
    s.cacheKey ?? null,
    json(s.components),
    s.cached,
    s.cachedFrom ?? null,
    s.attempts,
    s.startedAt ?? null,
    s.finishedAt ?? null,
    s.durationMs ?? null,
    s.outputDigest ?? null,
    json(s.error),
    text(s.reason),
  ];
}

export function rowToStepRun(r: Row): StepRunRecord {
  return {
    id: r.id,
    runId: r.run_id,
    stepId: r.step_id,
    itemIndex: r.item_index,
    status: r.status,
    cacheKey: opt(r.cache_key),
    components: opt(r.components),
    cached: r.cached === true,
    cachedFrom: opt(r.cached_from),
    attempts: r.attempts,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
    durationMs: opt(r.duration_ms),
    outputDigest: opt(r.output_digest),
    error: opt(r.error),
    reason: opt(r.reason),
  };
}

/** Values in the column order of the attempts insert. */
export function attemptValues(a: AttemptRecord): unknown[] {
  return [a.stepRunId, a.attempt, a.status, a.startedAt, a.finishedAt ?? null, json(a.error)];
}

export function rowToAttempt(r: Row): AttemptRecord {
  return {
    stepRunId: r.step_run_id,
    attempt: r.attempt,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: opt(r.finished_at),
    error: opt(r.error),
  };
}

/** Values in the column order of the artifacts insert; bytes only for inline artifacts. */
export function artifactValues(a: ArtifactRecord, bytes?: Uint8Array): unknown[] {
  return [a.digest, a.kind, a.size, json(a.meta), a.createdAt, bytes ? Buffer.from(bytes) : null];
}

export function rowToArtifact(r: Row): ArtifactRecord {
  return {
    digest: r.digest,
    kind: r.kind,
    size: r.size,
    meta: r.meta ?? {},
    createdAt: r.created_at,
    inline: r.is_inline === true,
  };
}

export function rowToEdge(r: Row): LineageEdge {
  return {
    stepRunId: r.step_run_id,
    runId: r.run_id,
    stepId: r.step_id,
    digest: r.digest,
    direction: r.direction,
    name: r.name,
    reused: r.reused === true,
  };
}

export const LEASE_COLUMNS = [
  "run_id",
  "pid",
  "host",
  "boot_id",
  "start_ticks",
  "token",
  "acquired_at",
  "heartbeat_at",
] as const;

/** Values in LEASE_COLUMNS order. */
export function leaseValues(l: RunLease): unknown[] {
  const o = l.owner;
  return [l.runId, o.pid, o.host, o.bootId, o.startTicks, l.token, l.acquiredAt, l.heartbeatAt];
}

export function rowToLease(r: Row): RunLease {
  const owner = { pid: r.pid, host: r.host, bootId: r.boot_id, startTicks: r.start_ticks };
  return { runId: r.run_id, owner, token: r.token, acquiredAt: r.acquired_at, heartbeatAt: r.heartbeat_at };
}
