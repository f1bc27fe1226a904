/**
 * A job that the queue gave up although no worker ever took its task: a fetch whose answer was lost
 * leaves the job taken by nobody until its lock runs out, which BullMQ counts as a stall, and a second
 * one fails the job. The orchestrator sends such a job out again (its fence shows no claim), up to three
 * times, and only then fails the step as lost. Real Redis, PostgreSQL and a `trainyard worker`; a bare
 * BullMQ worker that takes jobs and never answers stands for the lost fetches.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { openWorker, type StepWorker } from "../../src/distributed/queue-backend.js";
import { bullQueueName, queueOptions } from "../../src/distributed/queue-options.js";
import { requireTools } from "../support/require-tool.js";
import { type Cluster, QUEUE_TIMING, startCluster } from "./cluster.js";

const PIPELINE = `
import { pipeline } from "trainyard";
const p = pipeline("undelivered", {});
p.step("only", { run: () => 42 });
export default p;
`;

/** Takes every job and never answers nor renews its lock, so each job it takes stalls. */
function jobSink(redis: string): { worker: StepWorker<unknown, string>; taken: string[] } {
  const taken: string[] = [];
  const worker = openWorker<unknown, string>(
    bullQueueName("default"),
    (job) => {
      taken.push(String(job.id));
      return new Promise<string>(() => undefined);
    },
    {
      concurrency: 10,
      lockDuration: QUEUE_TIMING.lockMs,
      stalledInterval: QUEUE_TIMING.stalledCheckMs,
      maxStalledCount: 1,
      skipLockRenewal: true,
    },
    queueOptions({ kind: "queue", redis }),
  );
  worker.on("error", () => undefined);
  return { worker, taken };
}

const gate = requireTools("redis-server", "postgresql");
gate.describe("a job given up though no worker took its task", () => {
  let cluster: Cluster;
  let file: string;
  beforeAll(async () => {
    cluster = await startCluster({ store: "fs" });
    file = path.join(cluster.dir, "undelivered.ts");
    fs.writeFileSync(file, PIPELINE);
  });
  afterAll(async () => cluster?.stop());

  gate.it(
    "is sent out again, and runs once a worker takes it; given up four times, the step fails as lost",
    async () => {
      const ty = await cluster.orchestrator();
      const sink = jobSink(cluster.redis!.url);
      try {
        await sink.worker.waitUntilReady();
        const running = ty.run(file);
        // Two stalls give a job up: the sink makes it stall twice, then a real worker comes.
        const deadline = Date.now() + 30_000;
        while (sink.taken.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(sink.taken.length, "the job was given up and sent out again").toBeGreaterThanOrEqual(3);
        await sink.worker.close(true);
        const worker = await cluster.startWorker("w1");
        const run = await running;
        // Before, the job given up failed the step: "lost twice by the workers running it", which none ran.
        expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
        expect(await ty.output(run.runId, "only")).toBe(42);
        expect((await ty.metadata.listAttempts(`${run.runId}:only`)).map((a) => a.status)).toEqual(["succeeded"]);
        worker.child.kill("SIGKILL");
        await worker.exited;

        // With only the sink taking jobs, the job is sent out three times, and given up a fourth: the step fails.
        const again = jobSink(cluster.redis!.url);
        try {
          const lost = await ty.run(file, { force: true });
          expect(lost.status).toBe("failed");
          expect(lost.error?.code).toBe("WORKER_LOST");
          // Each sending is taken twice (two stalls): four sendings.
          expect(again.taken).toHaveLength(8);
        } finally {
          await again.worker.close(true);
        }
      } finally {
        await sink.worker.close(true).catch(() => undefined);
        await ty.close();
      }
    },
    120_000,
  );
});
