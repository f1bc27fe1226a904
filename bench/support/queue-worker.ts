/**
 * A `trainyard worker` for bench/queue.ts that also prints, as JSON lines on stdout, when each
 * task of one pipeline started and ended on it (epoch ms with sub-millisecond precision,
 * comparable across processes of this machine). Other pipelines' tasks print nothing, so a
 * figure taken on them does not pay for the marks.
 *
 *   npx tsx bench/support/queue-worker.ts <config> <home> <id> <concurrency> <marked pipeline>
 */
import { registerQueueExecutor } from "../../src/distributed/register-queue-executor.js";
import { queueOptions } from "../../src/distributed/queue-options.js";
import { TaskWorker } from "../../src/distributed/task-worker.js";
import { Trainyard } from "../../src/engine/trainyard.js";

const [config, home, id, concurrency, marked] = process.argv.slice(2);
registerQueueExecutor();
const now = () => performance.timeOrigin + performance.now();
const ty = await Trainyard.openConfigured({ configFile: config, home });
const spec = ty.stores!.executor;
const worker = new TaskWorker(ty, {
  ...queueOptions(spec),
  queues: ["default"],
  concurrency: Number(concurrency),
  workerId: id,
  onTask: (e) => {
    if (e.task.pipeline === marked)
      process.stdout.write(`${JSON.stringify({ type: e.type, stepRunId: e.task.stepRunId, at: now() })}\n`);
  },
});
await worker.start();
process.stdout.write(`${JSON.stringify({ type: "ready" })}\n`);
process.on("SIGTERM", () => void worker.stop(true).then(() => ty.close().then(() => process.exit(0))));
