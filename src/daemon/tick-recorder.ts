/**
 * Turns one trigger evaluation into ledger writes: each tick with its queued runs (ids fixed
 * here, before the runs exist) and, on the last one, the trigger's new cursor, all through
 * `recordTick`'s single transaction. A tick already recorded (a re-evaluation after a crash) is
 * a no-op. A failed evaluation is noted with exponential backoff and recorded as a failed tick.
 */
import { crashPoint } from "../core/crash-point.js";
import { describeError, type ErrorInfo } from "../core/errors.js";
import { newRunId } from "../engine/trainyard.js";
import type { QueuedRun, TickStore } from "../store/tick-store.js";
import type { DaemonTrigger, TriggerEvaluation } from "./daemon-trigger.js";

export interface RecordOutcome {
  requested: number;
  skipped: number;
  /** Ticks already in the ledger (recorded before a crash, or by another daemon). */
  deduplicated: number;
  /** scheduledAt -> recorded lag of each new tick, for health figures. */
  lagsMs: number[];
  cursorStored: boolean;
  /** Runs queued by new ticks, with the time their tick was due. */
  queued: Array<{ runId: string; scheduledAt: number }>;
}

export async function recordEvaluation(
  store: TickStore,
  trigger: DaemonTrigger,
  ev: TriggerEvaluation,
  opts: { now: number; paused: boolean; cursorBefore: unknown },
): Promise<RecordOutcome> {
  const out: RecordOutcome = { requested: 0, skipped: 0, deduplicated: 0, lagsMs: [], cursorStored: false, queued: [] };
  const cursorChanged = "cursor" in ev && JSON.stringify(ev.cursor) !== JSON.stringify(opts.cursorBefore);
  for (const [i, t] of ev.ticks.entries()) {
    const last = i === ev.ticks.length - 1;
    // A paused schedule's slots are recorded as skipped, so unpausing does not fire the missed ones.
    const paused = opts.paused && t.status === "requested";
    const status = paused ? "skipped" : t.status;
    const runs: QueuedRun[] =
      status === "requested"
        ? (t.runs?.length ? t.runs : [{}]).map((r) => ({
            runId: newRunId(new Date(opts.now)),
            trigger: trigger.id,
            tickKey: t.key,
            pipeline: trigger.pipeline,
            modulePath: trigger.modulePath,
            params: r.params ?? {},
            profile: r.profile,
            priority: r.priority ?? 0,
            createdAt: opts.now,
            status: "queued",
            ...(r.serial ? { serial: true } : {}),
          }))
        : [];
    const tick = {
      trigger: trigger.id,
      key: t.key,
      kind: trigger.kind,
      scheduledAt: t.scheduledAt,
      evaluatedAt: opts.now,
      status,
      reason: paused ? `skipped: paused (${t.reason})` : t.reason,
      event: t.event,
    };
    const withCursor = last && cursorChanged;
    const r = await store.recordTick(tick, withCursor ? { runs, cursor: ev.cursor } : { runs });
    if (!r.created) {
      out.deduplicated++;
      continue;
    }
    if (runs.length) crashPoint("runs-created");
    if (withCursor) out.cursorStored = true;
    if (status === "requested") out.requested++;
    else out.skipped++;
    out.lagsMs.push(opts.now - t.scheduledAt);
    for (const run of runs) out.queued.push({ runId: run.runId, scheduledAt: t.scheduledAt });
  }
  // No new tick carried the cursor (none due, or the last was deduplicated): store it alone.
  if (cursorChanged && !out.cursorStored) {
    await store.noteEvaluation(trigger.id, { at: opts.now, cursor: ev.cursor });
    out.cursorStored = true;
  }
  if (out.cursorStored) crashPoint("cursor-stored");
  return out;
}

/** 1 s, 2 s, 4 s ... up to 5 minutes. */
export function backoffMs(failures: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, failures - 1), 300_000);
}

/** Notes a failed evaluation (backoff) and records it as a failed tick with the error. */
export async function recordFailure(
  store: TickStore,
  trigger: Pick<DaemonTrigger, "id" | "kind">,
  err: unknown,
  opts: { now: number; failures: number },
): Promise<{ error: ErrorInfo; backoffUntil: number }> {
  const error = describeError(err);
  const backoffUntil = opts.now + backoffMs(opts.failures);
  await store.noteEvaluation(trigger.id, { at: opts.now, error, backoffUntil });
  const wait = Math.round((backoffUntil - opts.now) / 1000);
  await store.recordTick({
    trigger: trigger.id,
    key: `failed@${new Date(opts.now).toISOString()}`,
    kind: trigger.kind,
    scheduledAt: opts.now,
    evaluatedAt: opts.now,
    status: "failed",
    reason: `evaluation failed (${error.code}): ${error.message}; next try in ${wait} s (failure ${opts.failures})`,
    error,
  });
  return { error, backoffUntil };
}
