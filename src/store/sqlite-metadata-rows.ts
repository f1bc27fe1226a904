/** Rows of the SQLite metadata tables to records and back (columns in snake case, JSON as text). */
import type {
  ArtifactRecord,
  AttemptRecord,
  LineageEdge,
  RunLease,
  RunRecord,
  StepRunRecord,
} from "./metadata-records.js";

export type Row = Record<string, any>;

export const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
export const parse = <T>(v: unknown): T | undefined =>
  v === null || v === undefined ? undefined : (JSON.parse(String(v)) as T);
export const marks = (n: number) => Array.from({ length: n }, () => "?").join(", ");
export const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/** A prefix matched literally: `%` and `_` in a run id are characters, not wildcards. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function leaseParams(l: RunLease): Row {
  const o = l.owner;
  return {
    run_id: l.runId,
    pid: o.pid,
    host: o.host,
    boot_id: o.bootId,
    start_ticks: o.startTicks,
    token: l.token,
    acquired_at: l.acquiredAt,
    heartbeat_at: l.heartbeatAt,
  };
}

export function rowToLease(r: Row): RunLease {
  const owner = { pid: r.pid, host: r.host, bootId: r.boot_id, startTicks: r.start_ticks };
  return { runId: r.run_id, owner, token: r.token, acquiredAt: r.acquired_at, heartbeatAt: r.heartbeat_at };
}

export function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function runToRow(r: RunRecord): Row {
  return {
    id: r.id,
    pipeline: r.pipeline,
    module_path: r.modulePath,
    params: json(r.params),
    profile: r.profile ?? null,
    trigger: r.trigger,
    status: r.status,
    code_version: r.codeVersion,
    created_at: r.createdAt,
    started_at: r.startedAt ?? null,
    finished_at: r.finishedAt ?? null,
    error: json(r.error),
    options: json(r.options),
    pid: r.pid ?? null,
    bundle_digest: r.bundleDigest ?? null,
    steps: json(r.steps),
  };
}

export function rowToRun(r: Row): RunRecord {
  return {
    id: r.id,
    pipeline: r.pipeline,
    modulePath: r.module_path,
    params: parse(r.params) ?? {},
    profile: opt(r.profile),
    trigger: r.trigger,
    status: r.status,
    codeVersion: r.code_version,
    createdAt: r.created_at,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
    error: parse(r.error),
    options: parse(r.options) ?? {},
    bundleDigest: opt(r.bundle_digest),
    steps: parse(r.steps),
    pid: opt(r.pid),
  };
}

/** Positional, in the column order of the insert: binding named parameters costs more per row. */
export function stepRunParams(s: StepRunRecord): unknown[] {
  return [
    s.id,
    s.runId,
    s.stepId,
    s.itemIndex,
    s.status,
    s.cacheKey ?? null,
    json(s.components),
    s.cached ? 1 : 0,
    s.cachedFrom ?? null,
    s.attempts,
    s.startedAt ?? null,
    s.finishedAt ?? null,
    s.durationMs ?? null,
    s.outputDigest ?? null,
    json(s.error),
    s.reason ?? null,
  ];
}

export function attemptParams(a: AttemptRecord): unknown[] {
  return [a.stepRunId, a.attempt, a.status, a.startedAt, a.finishedAt ?? null, json(a.error)];
}

export function rowToStepRun(r: Row): StepRunRecord {
  return {
    id: r.id,
    runId: r.run_id,
    stepId: r.step_id,
    itemIndex: r.item_index,
    status: r.status,
    cacheKey: opt(r.cache_key),
    components: parse(r.components),
    cached: r.cached === 1,
    cachedFrom: opt(r.cached_from),
    attempts: r.attempts,
    startedAt: opt(r.started_at),
    finishedAt: opt(r.finished_at),
    durationMs: opt(r.duration_ms),
    outputDigest: opt(r.output_digest),
    error: parse(r.error),
    reason: opt(r.reason),
  };
}

export function artifactParams(a: ArtifactRecord, bytes?: Uint8Array): unknown[] {
  return [a.digest, a.kind, a.size, json(a.meta), a.createdAt, bytes ? Buffer.from(bytes) : null];
}

export function rowToArtifact(r: Row): ArtifactRecord {
  return {
    digest: r.digest,
    kind: r.kind,
    size: r.size,
    meta: parse(r.meta) ?? {},
    createdAt: r.created_at,
    inline: r.is_inline === 1,
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
    reused: r.reused === 1,
  };
}
