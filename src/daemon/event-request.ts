/**
 * What the event-driven triggers (SQL and function sensors, run-status triggers) hand back: keyed
 * run requests with the event behind each, and notes saying in words why nothing else was asked.
 */
import { createHash } from "node:crypto";

export interface EventRunRequest {
  key: string;
  params: Record<string, unknown>;
  profile?: string;
  reason: string;
  /** What happened, for the run's record. */
  event: Record<string, unknown>;
}

export interface EventNote {
  kind: string;
  message: string;
}

export interface EventEvaluation<C> {
  requests: EventRunRequest[];
  notes: EventNote[];
  cursor: C;
}

/** JSON with sorted object keys: equal values give equal text whatever the column order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

export function digestOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}
