/**
 * The queue executor's options, from its config entry (`executor: { kind: "queue", redis: ... }`
 * or `{ kind: "queue", postgres: ... }`), the environment and defaults, and what BullMQ is given
 * from them: the Redis connection, queue names, job ids and priorities.
 */
import { TrainyardError } from "../core/errors.js";
import type { ExecutorSpec } from "../engine/executor-registry.js";

export interface QueueOptions {
  /** Redis holding the queues. @default $TRAINYARD_REDIS_URL, else redis://127.0.0.1:6379 */
  redis: string;
  /** PostgreSQL holding the queues instead of Redis (BullMQ's PostgreSQL backend). @default unset: Redis */
  postgres?: string;
  /** Prefix of every Redis key, so several deployments can share one Redis. @default "trainyard" */
  prefix: string;
  /** Tasks of one run handed to the queue at once. @default 256 */
  capacity: number;
  /** A worker's lock on a task; a worker silent this long (killed) loses it. @default 4000 */
  lockMs: number;
  /** How often workers look for tasks whose lock expired (stalled). @default 1500 */
  stalledCheckMs: number;
  /** How often a worker confirms, in the task fence, that it still holds its task. @default 1000 */
  heartbeatMs: number;
}

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const NUMBER_OPTIONS = ["capacity", "lockMs", "stalledCheckMs", "heartbeatMs"] as const;

/** The options of `spec` (its fields beside `kind`), or CONFIG_INVALID naming the field. */
export function queueOptions(spec: ExecutorSpec, env: Record<string, string | undefined> = process.env): QueueOptions {
  const known = new Set(["kind", "redis", "postgres", "prefix", ...NUMBER_OPTIONS]);
  for (const field of Object.keys(spec))
    if (!known.has(field))
      invalid(`executor.${field}`, `unknown field; the queue executor takes ${[...known].join(", ")}`);
  const redis = (spec.redis as string | undefined) ?? env.TRAINYARD_REDIS_URL ?? DEFAULT_REDIS_URL;
  if (typeof redis !== "string" || !/^rediss?:\/\//.test(redis))
    invalid("executor.redis", `must be a redis:// URL, not ${JSON.stringify(redis)}`);
  const postgres = spec.postgres as string | undefined;
  if (postgres !== undefined && (typeof postgres !== "string" || !/^postgres(ql)?:\/\//.test(postgres)))
    invalid("executor.postgres", `must be a postgres:// or postgresql:// URL, not ${JSON.stringify(postgres)}`);
  if (postgres !== undefined && spec.redis !== undefined)
    invalid("executor.postgres", "give either redis or postgres: the queues live in one of them");
  const prefix = (spec.prefix as string | undefined) ?? "trainyard";
  if (typeof prefix !== "string" || !/^[A-Za-z0-9_.-]+$/.test(prefix))
    invalid("executor.prefix", "must be letters, digits, '_', '.' or '-'");
  const out: QueueOptions = {
    redis,
    ...(postgres ? { postgres } : {}),
    prefix,
    capacity: 256,
    lockMs: 4000,
    stalledCheckMs: 1500,
    heartbeatMs: 1000,
  };
  for (const field of NUMBER_OPTIONS) {
    const v = spec[field];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      invalid(`executor.${field}`, "must be a positive integer");
    out[field] = v;
  }
  return out;
}

function invalid(field: string, problem: string): never {
  throw new TrainyardError("CONFIG_INVALID", `invalid config: ${field}: ${problem}`, {
    field,
    hint:
      'the queue executor is { kind: "queue", redis: "redis://host:6379", prefix?, capacity?, lockMs? } ' +
      '(or postgres: "postgres://..." in place of redis)',
  });
}

/** Where the queues live, for logs and errors: the URL without its password. */
export function queueStoreLabel(opts: Pick<QueueOptions, "redis" | "postgres">): string {
  const u = new URL(opts.postgres ?? opts.redis);
  if (u.password) u.password = "***";
  return u.href;
}

/**
 * How long ioredis waits before its `times`th try to reconnect to Redis: 50 ms, doubling, at most a
 * second. BullMQ's own default waits at least a second and grows to 20 s, so after an outage of half a
 * minute a worker and the run's event stream stayed away up to 20 s more, and each lost connection
 * (a dropped reply) cost a whole second.
 */
export function redisRetryDelay(times: number): number {
  return Math.min(50 * 2 ** Math.max(0, times - 1), 1000);
}

/** ioredis options for `url`; BullMQ needs `maxRetriesPerRequest: null` so that a blocked read waits for Redis. */
export function redisConnection(url: string): {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: object;
  maxRetriesPerRequest: null;
  retryStrategy: (times: number) => number;
} {
  const u = new URL(url);
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: redisRetryDelay,
  };
}

/** The BullMQ queue of a pool or capability (`--queue gpu`); a step's `pool` option picks it. */
export function bullQueueName(queue: string): string {
  return `steps.${queue}`;
}

/** A job id per dispatch: a resumed orchestrator finds the same job again. BullMQ ids may not hold ':'. */
export function jobIdFor(stepRunId: string, attemptId: string): string {
  return `${stepRunId}~${attemptId}`.replaceAll(":", "~");
}

/** BullMQ's highest priority is 1 and its lowest 2^21; a longer remaining path must come first. */
const LOWEST = 2 ** 21;
/** Critical paths around this long (in the scheduler's weight, ms) take the middle of the range. */
const SCALE = 60_000;

/** The job priority for a step's critical-path weight: strictly decreasing, never saturating. */
export function bullPriority(weight: number): number {
  const w = Math.max(0, Number.isFinite(weight) ? weight : 0);
  return 1 + Math.round((LOWEST - 2) * (SCALE / (SCALE + w)));
}
