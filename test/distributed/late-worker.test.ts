/**
 * A task delivered to a worker after gc removed its run's fences (a job redelivered late) is
 * dropped unrun, with a line saying why: real Redis, PostgreSQL and a `trainyard worker` process.
 * The fence store's refusals of claims, heartbeats and commits against a removed fence are tested
 * on both backends in task-fence.test.ts; this shows the worker's side.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { openQueue } from "../../src/distributed/queue-backend.js";
import { bullQueueName, queueOptions } from "../../src/distributed/queue-options.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { requireTools } from "../support/require-tool.js";
import { type Cluster, type ClusterWorker, startCluster } from "./cluster.js";

const PIPELINE = `
import { pipeline } from "trainyard";
const p = pipeline("late-fence", {});
const source = p.step("source", { run: () => ({ n: 20 }) });
p.step("double", { inputs: { s: source }, run: (_ctx, { s }) => s.n * 2 });
export default p;
`;

async function until(what: string, probe: () => boolean, worker: ClusterWorker): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker said:\n${worker.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const gate = requireTools("redis-server", "postgresql");
gate.describe("a late worker after gc removed the fences", () => {
  let cluster: Cluster;
  let worker: ClusterWorker;
  beforeAll(async () => {
    cluster = await startCluster({ store: "fs" });
    worker = await cluster.startWorker("w1");
  });
  afterAll(async () => cluster?.stop());

  gate.it("drops the task unrun and says its fence is gone", async () => {
    const file = path.join(cluster.dir, "late-fence.ts");
    fs.writeFileSync(file, PIPELINE);
    const ty = await cluster.orchestrator();
    const fences = await taskFenceFor(ty.metadata);
    const queue = openQueue(bullQueueName("default"), queueOptions({ kind: "queue", redis: cluster.redis!.url }));
    try {
      const run = await ty.run(file);
      expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
      const double = (await fences.get(`${run.runId}:double`))!;
      expect(double.state).toBe("committed");
      const attemptsBefore = await ty.metadata.listAttempts(`${run.runId}:double`);

      expect((await ty.gc({ graceMs: 0 })).fencesRemoved).toBe(2);
      expect(await fences.get(`${run.runId}:double`)).toBeUndefined();

      // The queue delivers the step's task again (a job id it no longer knows): the worker takes it.
      await queue.add("double", { task: double.task }, { jobId: `late-${run.runId}`, attempts: 1 });
      const dropped = new RegExp(`dropped ${run.runId} double: not run: its task fence is gone`);
      await until("the worker to drop the task", () => dropped.test(worker.output()), worker);
      // Started once (the run's own pickup), never again; nothing recorded for the late one.
      const started = worker.output().match(new RegExp(`started ${run.runId} double\\b`, "g")) ?? [];
      expect(started).toHaveLength(1);
      expect(await ty.metadata.listAttempts(`${run.runId}:double`)).toEqual(attemptsBefore);
      expect(await fences.get(`${run.runId}:double`)).toBeUndefined();
    } finally {
      await queue.close();
      await fences.close();
      await ty.close();
    }
  });
});
