/**
 * Records a manual run request (`trainyard trigger`, later `POST /api/v1/runs`) in the daemon's
 * queue: a `manual` tick under the pipeline's `<pipeline>/manual` trigger with one queued run,
 * its id fixed now. An idempotency key is claimed first, so the same key asks for one run only.
 */
import { newRunId, type Trainyard } from "../engine/trainyard.js";
import { openTickStore } from "./open-tick-store.js";
import type { ManualRunRequest, RunRequestRecorder } from "./request-run.js";

export function queueRecorder(ty: Trainyard): RunRequestRecorder {
  return {
    async record(request: ManualRunRequest) {
      const store = await openTickStore(ty);
      const at = request.requestedAt;
      let runId = newRunId(new Date(at));
      if (request.idempotencyKey !== undefined) {
        const claim = await store.claimIdempotencyKey(request.idempotencyKey, request.requestDigest, runId, at);
        if (!claim.fresh) return { runId: claim.runId, created: false, sameRequest: claim.sameRequest };
        runId = claim.runId;
      }
      const trigger = `${request.pipeline}/manual`;
      const { created, tick } = await store.recordTick(
        {
          trigger,
          key: request.key,
          kind: "manual",
          scheduledAt: at,
          evaluatedAt: at,
          status: "requested",
          reason: request.reason,
          event: { requestedBy: request.requestedBy, params: request.params, profile: request.profile },
        },
        {
          runs: [
            {
              runId,
              trigger,
              tickKey: request.key,
              pipeline: request.pipeline,
              modulePath: request.modulePath,
              params: request.params,
              profile: request.profile,
              priority: 0,
              createdAt: at,
              status: "queued",
            },
          ],
        },
      );
      return { runId: tick.runIds?.[0] ?? runId, created, sameRequest: true };
    },
  };
}
