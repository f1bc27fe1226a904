/** The workers of the queue executor and its queues: the same overview as `trainyard workers --json`. */
import type { Hono } from "hono";
import { gatherWorkersOverview, withoutQueueExecutor } from "../distributed/queue-overview.js";
import { queueOptions } from "../distributed/queue-options.js";
import { defineRoute, type ApiServices } from "./api-context.js";

export function registerWorkerRoutes(app: Hono, svc: ApiServices): void {
  defineRoute(app, svc, "workers", async ({ query }) => {
    const executor = svc.ty.stores?.executor ?? svc.ty.executor;
    // A server whose config runs steps locally has no queues to look at: it says so rather than failing.
    if (executor.kind !== "queue") return withoutQueueExecutor();
    const queues = (query.queue ?? "")
      .split(",")
      .map((q) => q.trim())
      .filter(Boolean);
    return gatherWorkersOverview(svc.ty, queueOptions(executor), queues);
  });
}
