/** `trainyard worker`: takes queued step tasks until SIGTERM/SIGINT, then lets running ones finish. */
import type { ExecutorSpec } from "../../engine/executor-registry.js";
import { queueOptions, queueStoreLabel } from "../../distributed/queue-options.js";
import { TaskWorker } from "../../distributed/task-worker.js";
import { startWorkerHealthServer } from "../../distributed/worker-health-server.js";
import { durationFlag, intFlag, one, usage, type ParsedArgs } from "../args.js";
import { dim } from "../format.js";
import { openHome } from "../open-home.js";

export async function workerCommand(args: ParsedArgs): Promise<number> {
  const log = (line: string) => process.stderr.write(`${dim(new Date().toISOString())} ${line}\n`);
  const concurrency = intFlag(args, "concurrency") ?? 1;
  if (concurrency < 1) throw usage("--concurrency must be at least 1");
  const queues = [...new Set(args.flags.get("queue") ?? [])];
  const ty = await openHome(args);
  const configured = ty.stores?.executor.kind === "queue" ? ty.stores.executor : { kind: "queue" };
  const opts = queueOptions(withQueueStoreFlags(configured, one(args, "redis"), one(args, "postgres")));
  const worker = new TaskWorker(ty, {
    ...opts,
    queues: queues.length ? queues : ["default"],
    concurrency,
    workerId: one(args, "id"),
    keepLogsMs: durationFlag(args, "keep-logs", "dh"),
    onLogsRemoved: (runId, why) => log(`removed the log files of run ${runId}: ${why}`),
    onTask: (e) => {
      if (e.type === "dropped") return log(`dropped ${e.task.runId} ${stepName(e.task)}: ${e.reason}`);
      log(`${e.type === "started" ? "started" : (e.status ?? "ended")} ${e.task.runId} ${stepName(e.task)}`);
    },
  });
  const healthPort = intFlag(args, "health-port");
  await worker.start();
  const health = healthPort === undefined ? undefined : await startWorkerHealthServer(worker, { port: healthPort });
  if (health) log(`health probes on port ${health.port}: /healthz (alive), /readyz (reaches its stores)`);
  log(`worker ${worker.label} takes ${queues.length ? queues.join(", ") : "default"} from ${queueStoreLabel(opts)}`);
  for (const risk of await worker.storeRisks().catch(() => [])) log(`warning: ${risk}`);
  // Aside: a worker killed mid-upload and started again on its home has its open uploads aborted now.
  void ty.artifacts.abortAbandonedUploads?.().then(
    (n) => n && log(`aborted ${n} upload${n === 1 ? "" : "s"} in parts that a killed worker of this home left open`),
    () => undefined,
  );
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
  await health?.close();
  await ty.close();
  return 0;
}

/** --redis or --postgres names the queue store in place of the config's (the flags exclude each other). */
export function withQueueStoreFlags(configured: ExecutorSpec, redis?: string, postgres?: string): ExecutorSpec {
  if (redis && postgres) throw usage("give --redis or --postgres, not both: the queues live in one of them");
  const { redis: _redis, postgres: _postgres, ...rest } = configured;
  if (redis) return { ...rest, redis };
  if (postgres) return { ...rest, postgres };
  return configured;
}

function stepName(task: { stepId: string; itemIndex: number }): string {
  return task.itemIndex >= 0 ? `${task.stepId}[${task.itemIndex}]` : task.stepId;
}
