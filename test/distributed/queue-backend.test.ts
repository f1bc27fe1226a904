/**
 * How the queue executor hands jobs to either store (queue-backend.ts), on a real Redis and a real
 * PostgreSQL: a lone job (a single add) and a bulk add both keep one job per job id, and a finished
 * job stays in the queue, where its state answers the executor's check for lost jobs.
 */
import type { EventEmitter } from "node:events";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  addStepJobs,
  completedJobRetention,
  openQueue,
  openWorker,
  type StepJob,
  type StepQueue,
} from "../../src/distributed/queue-backend.js";
import { type QueueOptions, queueOptions } from "../../src/distributed/queue-options.js";
import { StepQueues } from "../../src/distributed/step-queues.js";
import { waitFor } from "../engine/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { requireTools } from "../support/require-tool.js";

const gate = requireTools("redis-server", "postgresql");
gate.describe("queue backend: adding and keeping step jobs (Redis and PostgreSQL)", () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  }, 120_000);
  afterAll(async () => {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  const stores = () =>
    [
      ["Redis", { redis: redis.url }],
      ["PostgreSQL", { redis: redis.url, postgres: postgres.url }],
    ] as const;
  const optionsFor = (store: { redis: string; postgres?: string }, prefix: string): QueueOptions => ({
    ...store,
    prefix,
    capacity: 256,
    lockMs: 4000,
    stalledCheckMs: 1500,
    heartbeatMs: 1000,
  });
  const job = (id: string, opts: QueueOptions): StepJob => ({
    name: id,
    data: { task: id },
    opts: { jobId: id, attempts: 1, removeOnComplete: completedJobRetention(opts) },
  });
  const queueOn = async (name: string, opts: QueueOptions): Promise<StepQueue> => {
    const queue = openQueue(name, opts);
    opened.push(queue);
    await queue.waitUntilReady();
    return queue;
  };

  it("a lone job and a bulk add keep one job per job id, on either store", async () => {
    for (const [label, store] of stores()) {
      const opts = optionsFor(store, `adds-${label.toLowerCase()}`);
      const queue = await queueOn("steps.adds", opts);
      await addStepJobs(queue, [job("a", opts)]);
      await addStepJobs(queue, [job("a", opts)]);
      await addStepJobs(queue, [job("a", opts), job("b", opts)]);
      await addStepJobs(queue, []);
      const waiting = await queue.getJobs(["waiting", "prioritized"]);
      expect(waiting.map((j) => j.id).sort(), label).toEqual(["a", "b"]);
      expect((await queue.getJob("a"))?.data, label).toEqual({ task: "a" });
    }
  });

  it("a finished job stays in the queue with its result, on either store", async () => {
    for (const [label, store] of stores()) {
      const opts = optionsFor(store, `keep-${label.toLowerCase()}`);
      const queue = await queueOn("steps.keep", opts);
      const worker = openWorker<{ task: string }, string>(
        "steps.keep",
        async (j) => `done ${j.data.task}`,
        { concurrency: 1, lockDuration: 4000 },
        opts,
      );
      opened.push(worker);
      await addStepJobs(queue, [job("one", opts)]);
      await addStepJobs(queue, [job("two", opts), job("three", opts)]);
      await waitFor(async () => (await queue.getJobCounts("completed")).completed === 3, `${label}: 3 jobs completed`);
      for (const id of ["one", "two", "three"]) {
        expect(await queue.getJobState(id), `${label} ${id}`).toBe("completed");
        expect((await queue.getJob(id))?.returnvalue, `${label} ${id}`).toBe(`done ${id}`);
      }
      await worker.close();
    }
  });

  it("PostgreSQL trims finished jobs by age only; Redis also caps their number", () => {
    // BullMQ's trim by count on PostgreSQL re-reads every finished job of the queue at each completion.
    expect(completedJobRetention({ postgres: postgres.url })).toEqual({ age: 3600 });
    expect(completedJobRetention({})).toEqual({ age: 3600, count: 10_000 });
  });
});

requireTools("redis-server").describe("a queue's connection to Redis, lost", () => {
  // Before, BullMQ's default waited a second at least before each try, growing to 20 s: a worker stayed
  // away up to 20 s after a long outage ended, and every dropped connection cost a second.
  it("is tried again after 50 ms, then doubling up to a second", async () => {
    const redis = await startRedis();
    const queue = openQueue("reconnect", queueOptions({ kind: "queue", redis: redis.url }));
    queue.on("error", () => undefined); // the refused connects while Redis is away
    try {
      await queue.getJobCounts("waiting");
      const delays: number[] = [];
      const { client } = queue.backend as unknown as { client: Promise<EventEmitter> };
      (await client).on("reconnecting", (delay: number) => delays.push(delay));
      await redis.halt({ kill: true });
      await waitFor(() => delays.length >= 6, "six tries to reconnect", 10_000);
      expect(delays.slice(0, 6)).toEqual([50, 100, 200, 400, 800, 1000]);
      await redis.start();
      expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 0 });
    } finally {
      await queue.close();
      await redis.stop();
    }
  }, 30_000);
});

requireTools("redis-server").describe("a run's queues, closed while their store is away", () => {
  // Before, a run whose queue store went away as its last step ended never returned: BullMQ's event
  // stream waits for Redis to confirm its close, and the run's end waited for that.
  it("close within their bound and drop their connections", async () => {
    const redis = await startRedis();
    const listener = { onCompleted: () => undefined, onFailed: async () => undefined, onProgress: () => undefined };
    const queues = new StepQueues(queueOptions({ kind: "queue", redis: redis.url }), listener);
    await queues.of("default");
    await redis.stop();
    await queues.close();
  }, 30_000);
});
