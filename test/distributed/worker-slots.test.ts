/**
 * Batch sizing sees the workers' real slots: each worker's name on its queue carries its slot
 * count, and the queue lists the workers connected to it (Redis CLIENT LIST).
 */
import { afterAll, beforeAll, expect } from "vitest";
import { openQueue, openWorker } from "../../src/distributed/queue-backend.js";
import { queueOptions } from "../../src/distributed/queue-options.js";
import { queueWorkerName, WorkerSlots } from "../../src/distributed/worker-slots.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { requireTools } from "../support/require-tool.js";

const gate = requireTools("redis-server");
gate.describe("worker slots on a queue", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

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
});
