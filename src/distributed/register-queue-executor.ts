/** Makes `executor: "queue"` (or `{ kind: "queue", ... }`) available to the runs this process starts. */
import { registerExecutor } from "../engine/executor-registry.js";

export function registerQueueExecutor(): void {
  // BullMQ loads only when a run really uses the queue.
  registerExecutor("queue", async (ctx) => (await import("./queue-executor.js")).QueueExecutor.create(ctx));
}
