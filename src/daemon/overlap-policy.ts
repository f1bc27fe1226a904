/**
 * What a due tick does while runs of the same trigger are still active: a pure decision the
 * daemon records on the tick (a skip with its reason, a queued run, runs to cancel).
 */
import type { OverlapPolicy } from "../core/triggers.js";

export interface ActiveRun {
  id: string;
  /** "queued": created and waiting for a slot; "running": started. */
  status: "queued" | "running";
  startedAt?: number;
}

export type OverlapDecision =
  | { action: "launch"; reason: string }
  | { action: "skip"; reason: string; blockedBy: string[] }
  | { action: "queue"; reason: string; behind: string[] }
  | { action: "cancel-running"; reason: string; cancel: string[] };

export function decideOverlap(policy: OverlapPolicy, active: readonly ActiveRun[]): OverlapDecision {
  const ids = active.map((r) => r.id);
  if (active.length === 0) return { action: "launch", reason: "no run of this trigger is active" };
  const list = describeRuns(active);
  switch (policy) {
    case "allow":
      return { action: "launch", reason: `overlap "allow": launched alongside ${list}` };
    case "skip":
      return { action: "skip", reason: `overlap "skip": ${list} still active`, blockedBy: ids };
    case "queue":
      return { action: "queue", reason: `overlap "queue": waits for ${list}`, behind: ids };
    case "cancel-running":
      return {
        action: "cancel-running",
        reason: `overlap "cancel-running": cancels ${list}, then launches`,
        cancel: ids,
      };
  }
}

function describeRuns(active: readonly ActiveRun[]): string {
  const shown = active
    .slice(0, 3)
    .map((r) => `${r.id} (${r.status})`)
    .join(", ");
  const more = active.length > 3 ? ` and ${active.length - 3} more` : "";
  return `${active.length === 1 ? "run" : "runs"} ${shown}${more}`;
}
