/** `trainyard worker`: takes queued step tasks until SIGTERM/SIGINT, then lets running ones finish. */
import { queueOptions } from "../../distributed/queue-options.js";
import { TaskWorker } from "../../distributed/task-worker.js";
import { intFlag, one, usage, type ParsedArgs } from "../args.js";
import { dim } from "../format.js";
import { openHome } from "../open-home.js";

export async function workerCommand(args: ParsedArgs): Promise<number> {
  const log = (line: string) => process.stderr.write(`${dim(new Date().toISOString())} ${line}\n`);
  const concurrency = intFlag(args, "concurrency") ?? 1;
  if (concurrency < 1) throw usage("--concurrency must be at least 1");
  const queues = [...new Set(args.flags.get("queue") ?? [])];
  const ty = await openHome(args);
  const configured = ty.stores?.executor.kind === "queue" ? ty.stores.executor : { kind: "queue" };
  const redis = one(args, "redis");
  const opts = queueOptions(redis ? { ...configured, redis } : configured);
  const worker = new TaskWorker(ty, {
    ...opts,
    queues: queues.length ? queues : ["default"],
    concurrency,
    workerId: one(args, "id"),
    onTask: (e) =>
      log(`${e.type === "started" ? "started" : (e.status ?? "ended")} ${e.task.runId} ${stepName(e.task)}`),
  });
  await worker.start();
  log(`worker ${worker.label} takes ${queues.length ? queues.join(", ") : "default"} from ${opts.redis}`);
  const stopped = new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: string) => {
      if (++signals > 1) {
        log(`${sig} again: stopping now; the queue gives this worker's tasks to another`);
        process.exit(130);
      }
      log(`${sig}: finishing running steps (again to stop now)`);
      void worker.stop().then(resolve);
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
  });
  await stopped;
  await ty.close();
  return 0;
}

function stepName(task: { stepId: string; itemIndex: number }): string {
  return task.itemIndex >= 0 ? `${task.stepId}[${task.itemIndex}]` : task.stepId;
}
