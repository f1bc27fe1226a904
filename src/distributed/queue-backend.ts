/**
 * BullMQ's classes on the queue store the options name: Redis (the default) or PostgreSQL through
 * BullMQ's PostgreSQL backend. The executor and workers open queues only here, so they never see
 * which store holds them.
 */
import {
  createPostgresBackend,
  type IQueueBackend,
  type JobsOptions,
  type KeepJobs,
  type JobProgress,
  type Processor,
  Queue,
  QueueEvents,
  Worker,
  type WorkerOptions,
} from "bullmq";
import type pg from "pg";
import { TrainyardError } from "../core/errors.js";
import { reconnecting, reconnectingPool } from "../store/postgres-reconnect.js";
import { type QueueOptions, queueStoreLabel, redisConnection } from "./queue-options.js";

// Either store's classes, with the store's connection type erased: callers use only the common API.
type AnyConnection = any;
export type StepQueue = Queue<any, any, string, any, any, string, IQueueBackend, AnyConnection>;
export type StepQueueEvents = QueueEvents<unknown, IQueueBackend, AnyConnection>;
export type StepWorker<D, R> = Worker<D, R, string, IQueueBackend, JobProgress, AnyConnection>;

/** BullMQ's schema for the queues in PostgreSQL: one per prefix, beside Trainyard's own tables. */
export function postgresQueueSchema(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_]/g, "_")}_queues`.toLowerCase().slice(0, 63);
}

/**
 * BullMQ's PostgreSQL backend, made to ride out a lost connection as the metadata's pool does
 * (postgres-reconnect.ts). As it comes, a connection dropped under a statement failed that statement
 * (and the run that sent it); one dropped during its first connect's migration failed every later
 * statement of that queue, which keeps the failed start; and one dropped under the migration's
 * checked-out client was an unheard error event, which ended the process. Now each statement and the
 * start are sent again on a new connection. A statement whose answer was lost after it committed is
 * applied again: an add keeps one job per job id; a fetch applied twice leaves the first job taken by
 * nobody until its lock runs out, a stall to BullMQ (a job given up so, never claimed, goes out again:
 * pending-tasks.ts); a finish applied twice is refused, the job being finished. The task's fence
 * decides who commits (task-pickups.ts).
 */
const reconnectingPostgresBackend: typeof createPostgresBackend = (name, opts, factoryOpts) => {
  const backend = createPostgresBackend(name, opts, factoryOpts);
  // BullMQ's own connection: its pool, and the start that migrates the schema on first use.
  const connection = (backend as unknown as { connection: { pool: pg.Pool; bootstrap: () => Promise<void> } })
    .connection;
  reconnectingPool(connection.pool);
  const bootstrap = connection.bootstrap.bind(connection);
  connection.bootstrap = () => reconnecting(bootstrap);
  return backend;
};

/** The PostgreSQL connection options: BullMQ creates or upgrades its tables on first connect. */
function postgresConnection(opts: QueueOptions) {
  return { connectionString: opts.postgres, schema: postgresQueueSchema(opts.prefix), migrate: true };
}

export function openQueue(name: string, opts: QueueOptions): StepQueue {
  if (opts.postgres)
    return new Queue(name, { connection: postgresConnection(opts), prefix: opts.prefix }, reconnectingPostgresBackend);
  return new Queue(name, { connection: redisConnection(opts.redis), prefix: opts.prefix });
}

export function openQueueEvents(name: string, opts: QueueOptions): StepQueueEvents {
  if (opts.postgres)
    return new QueueEvents(
      name,
      { connection: postgresConnection(opts), prefix: opts.prefix },
      reconnectingPostgresBackend,
    );
  return new QueueEvents(name, { connection: redisConnection(opts.redis), prefix: opts.prefix });
}

export function openWorker<D, R>(
  name: string,
  processor: Processor<D, R>,
  workerOpts: Omit<WorkerOptions, "connection" | "prefix">,
  opts: QueueOptions,
): StepWorker<D, R> {
  if (opts.postgres) {
    const connection = postgresConnection(opts);
    return new Worker(name, processor, { ...workerOpts, connection, prefix: opts.prefix }, reconnectingPostgresBackend);
  }
  return new Worker(name, processor, { ...workerOpts, connection: redisConnection(opts.redis), prefix: opts.prefix });
}

/**
 * How long a finished job stays in the queue (its state answers the executor's check for lost jobs).
 * Redis keeps at most 10,000 for an hour (they are in memory); PostgreSQL keeps an hour's, by age only:
 * BullMQ's trim by count there re-reads every finished job of the queue at each completion (see
 * docs/performance.md), while its trim by age reads only the rows it deletes. `trainyard gc` bounds their
 * number on both stores (finished-job-trim.ts).
 */
export function completedJobRetention(opts: Pick<QueueOptions, "postgres">): KeepJobs {
  return opts.postgres ? { age: 3600 } : { age: 3600, count: 10_000 };
}

/** A job for addStepJobs: its name (shown by BullMQ's tools), its data and options (job id, priority). */
export interface StepJob {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

/**
 * Adds `jobs` to `queue` in one round trip. A lone job goes with a single add: BullMQ's PostgreSQL
 * bulk add builds and drops two temporary tables per call, several times the cost of the add itself,
 * and in a chain of steps every hand-over is a lone job. Both keep one job per job id.
 */
export async function addStepJobs(queue: StepQueue, jobs: StepJob[]): Promise<void> {
  if (jobs.length === 1) await queue.add(jobs[0].name, jobs[0].data, jobs[0].opts);
  else if (jobs.length > 1) await queue.addBulk(jobs);
}

/**
 * Settings of the queue store that put queued tasks at risk, one line each with what to set: a Redis
 * that evicts keys when full (a queued job or its lock can vanish) or keeps no append-only file (a
 * restart loses what was queued since its last snapshot). Either way the run's fence poll adds a lost
 * job again within seconds and the fence keeps each step committed once, so nothing is lost or
 * doubled, but a run waits. BullMQ prints its own bare line about the first, once per connection.
 * A store in PostgreSQL has neither.
 */
export async function queueStoreRisks(opened: { backend: IQueueBackend }, opts: QueueOptions): Promise<string[]> {
  if (opts.postgres) return [];
  const { client } = opened.backend as unknown as { client: Promise<{ info(section: string): Promise<string> }> };
  const redis = await client;
  const info = `${await redis.info("memory")}\n${await redis.info("persistence")}`;
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
  const where = `the queue store at ${queueStoreLabel(opts)}`;
  const risks: string[] = [];
  const policy = field("maxmemory_policy");
  if (policy && policy !== "noeviction")
    risks.push(
      `${where} evicts keys when full (maxmemory-policy ${policy}): a queued task or its lock can vanish, ` +
        "and its run waits for its fence poll to send it again; set `maxmemory-policy noeviction` " +
        "(CONFIG SET, and in redis.conf)",
    );
  if (field("aof_enabled") === "0")
    risks.push(
      `${where} keeps no append-only file (appendonly no): a restart loses the tasks queued since its last ` +
        "snapshot, and their runs wait for their fence polls to send them again; set `appendonly yes` " +
        "(CONFIG SET, and in redis.conf)",
    );
  return risks;
}

/** A command that reads a queue gives up on a queue store that does not answer within this long. */
export const REACH_TIMEOUT_MS = 5000;

/**
 * `work` on `queue`, or QUEUE_UNAVAILABLE naming the store once REACH_TIMEOUT_MS pass: BullMQ waits for
 * its store forever (a worker outlives a restart), and a command must answer.
 */
export async function withinReach<T>(work: Promise<T>, queue: string, opts: QueueOptions): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const where = queueStoreLabel(opts);
      const message = `queue "${queue}": the queue store at ${where} did not answer within ${REACH_TIMEOUT_MS} ms`;
      reject(new TrainyardError("QUEUE_UNAVAILABLE", message, { field: "executor" }));
    }, REACH_TIMEOUT_MS);
  });
  work.catch(() => undefined); // after a timeout, its late failure has no one to tell
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes a queue or its event stream, waiting at most `ms`: a store that never answered, or a
 * connection whose answer was lost, may never confirm it. Past that, its connections are dropped.
 */
export async function closeWithin(closable: StepQueue | StepQueueEvents, ms = 1000): Promise<void> {
  const closed = closable.close().then(
    () => true,
    () => true,
  );
  if (!(await Promise.race([closed, new Promise<false>((r) => setTimeout(() => r(false), ms).unref())])))
    void closable.disconnect().catch(() => undefined);
}
