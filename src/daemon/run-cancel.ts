/**
 * Cancelling a trigger's active runs (overlap "cancel-running"), done by the daemon once the tick
 * that replaces them is recorded: a run still waiting in the queue is withdrawn there; a running
 * one is asked to stop through its owner (SIGTERM, which the run records as `cancelled`).
 */
import type { MetadataStore } from "../store/metadata-store.js";
import { identityAlive } from "../store/process-identity.js";
import type { TickStore } from "../store/tick-store.js";

/** Returns how many runs were withdrawn from the queue and how many were signalled. */
export async function cancelActiveRuns(
  store: TickStore,
  metadata: MetadataStore,
  runIds: readonly string[],
  reason: string,
): Promise<{ withdrawn: number; signalled: number }> {
  let withdrawn = 0;
  let signalled = 0;
  for (const id of runIds) {
    if (await store.cancelQueued(id, reason)) {
      withdrawn++;
      continue;
    }
    const lease = await metadata.getRunLease(id);
    if (!lease || identityAlive(lease.owner) !== true) continue;
    try {
      process.kill(lease.owner.pid, "SIGTERM");
      signalled++;
    } catch {
      // Already gone: it ended on its own.
    }
  }
  return { withdrawn, signalled };
}
