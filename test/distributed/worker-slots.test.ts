/**
 * Batch sizing sees the workers' real slots: each worker's name on its queue carries its slot
 * count, and the queue lists the workers connected to it (Redis CLIENT LIST, PostgreSQL's named
 * connections, which keep 63 bytes of a name).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openQueue, openWorker } from "../../src/distributed/queue-backend.js";
import { queueOptions } from "../../src/distributed/queue-options.js";
import {
  POSTGRES_NAME_BYTES,
  parseQueueWorkerName,
  queueWorkerName,
  WorkerSlots,
} from "../../src/distributed/worker-slots.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { requireTools } from "../support/require-tool.js";

describe("a worker's name on its queues", () => {
  it("reads back its label and slots, a previous release's form too, and marks a label the store cut", () => {
    expect(parseQueueWorkerName(`steps.cpu:w:${queueWorkerName("host-a/w1~x", 4)}`)).toEqual({
      label: "host-a/w1~x",
      slots: 4,
    });
    expect(parseQueueWorkerName("steps.cpu:w:host-a/w1~3")).toEqual({ label: "host-a/w1", slots: 3 });
    expect(parseQueueWorkerName("steps.cpu:w:host-a")).toEqual({ label: "host-a", slots: 0 });
    const cut = "steps.cpu:w:12~ip-10-0-12-34.eu-west-1.compute.internal/worker-".slice(0, POSTGRES_NAME_BYTES);
    expect(parseQueueWorkerName(cut, { cutAtBytes: POSTGRES_NAME_BYTES })).toEqual({
      label: `${cut.slice("steps.cpu:w:12~".length)}…`,
      slots: 12,
    });
    expect(parseQueueWorkerName("steps.cpu:w:2~short", { cutAtBytes: POSTGRES_NAME_BYTES }).label).toBe("short");
  });
});

const gate = requireTools("redis-server", "postgresql");
gate.describe("worker slots on a queue", () => {
  let redis: TestRedis;
  let postgres: TestPostgres;
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  }, 120_000);
  afterAll(async () => Promise.all([redis?.stop(), postgres?.stop()]));

  gate.it("adds up the slots of the workers connected to each queue, and sees a worker leave", async () => {
    const opts = queueOptions({ kind: "queue", redis: redis.url });
    const open = (queue: string, label: string, slots: number) =>
      openWorker(queue, async () => "done", { name: queueWorkerName(label, slots), concurrency: slots }, opts);
    const workers = [open("cpu", "host-a/w1", 2), open("cpu", "host-b/w2", 3), open("gpu", "host-c/w3", 1)];
    const cpu = openQueue("cpu", opts);
    const gpu = openQueue("gpu", opts);
    const empty = openQueue("empty", opts);
    try {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      const slots = new WorkerSlots();
      expect(await slots.on("cpu", cpu)).toBe(5);
      expect(await slots.on("gpu", gpu)).toBe(1);
      expect(await slots.on("empty", empty)).toBe(0);
      await workers[1].close();
      // Listed again by a fresh reader (a reader keeps its answer for a few seconds).
      expect(await new WorkerSlots().on("cpu", cpu)).toBe(2);
    } finally {
      await Promise.all([...workers.map((w) => w.close()), cpu.close(), gpu.close(), empty.close()]);
    }
  });

  gate.it("keeps a worker's slots on PostgreSQL queues when its long label loses its end there", async () => {
    const opts = queueOptions({ kind: "queue", postgres: postgres.url });
    const label = "ip-10-0-12-34.eu-west-1.compute.internal/worker-gpu-a1b2c3";
    const worker = openWorker("gpu", async () => "done", { name: queueWorkerName(label, 12), concurrency: 1 }, opts);
    const queue = openQueue("gpu", opts);
    try {
      await worker.waitUntilReady();
      expect(await new WorkerSlots().on("gpu", queue)).toBe(12);
      const listed = (await queue.getWorkers()) as Array<{ rawname?: string }>;
      expect(listed).toHaveLength(1);
      const raw = listed[0].rawname ?? "";
      expect(Buffer.byteLength(raw)).toBe(POSTGRES_NAME_BYTES);
      const seen = parseQueueWorkerName(raw, { cutAtBytes: POSTGRES_NAME_BYTES });
      expect(seen.slots).toBe(12);
      expect(seen.label.endsWith("…")).toBe(true);
      expect(label.startsWith(seen.label.slice(0, -1))).toBe(true);
    } finally {
      await Promise.all([worker.close(), queue.close()]);
    }
  });
});
