/**
 * Checks a daemon's ledger and run table after faults, from the records alone: no schedule slot
 * lost within the catch-up policy, none doubled, each requested tick with exactly one run that
 * exists once and finished, no run that no tick asked for, and every landed file in exactly one
 * requested sensor tick. The run-level counterpart is test/faults/history-checker.ts.
 */
import type { RunRecord } from "../../src/store/metadata-store.js";
import type { QueuedRun, TickRecord } from "../../src/store/tick-store.js";

export interface DaemonHistory {
  ticks: TickRecord[];
  queue: QueuedRun[];
  runs: RunRecord[];
}

export interface ScheduleExpectation {
  trigger: string;
  stepMs: number;
  /** catchUp "all": a slot may be skipped only when this many later slots ran in the same evaluation. */
  maxCatchUp: number;
}

export interface SensorExpectation {
  trigger: string;
  /** Content digests of every file landed, each of which must start exactly one run. */
  landedDigests: string[];
}

export interface HistoryReport {
  problems: string[];
  requested: number;
  skippedByCatchUp: number;
  /** Requested ticks whose runs wait in the queue (the daemon stopped right after recording them). */
  waiting: number;
  runsByStatus: Record<string, number>;
}

export function checkDaemonHistory(
  h: DaemonHistory,
  schedule: ScheduleExpectation | undefined,
  sensor: SensorExpectation,
  /** How a tick's run may end: a pipeline with gates may reject a run, which is no fault. */
  endings: ReadonlySet<string> = new Set(["succeeded"]),
): HistoryReport {
  const problems: string[] = [];
  const runsById = new Map<string, RunRecord[]>();
  for (const r of h.runs) runsById.set(r.id, [...(runsById.get(r.id) ?? []), r]);
  const queueById = new Map(h.queue.map((q) => [q.runId, q]));
  const requested = h.ticks.filter((t) => t.status === "requested").sort((a, b) => a.scheduledAt - b.scheduledAt);
  const started = requested.filter((t) => t.runIds?.some((id) => runsById.has(id)));
  const lastStarted = Math.max(-Infinity, ...started.map((t) => t.scheduledAt));
  const asked = new Set<string>();
  let waiting = 0;
  for (const t of requested) {
    if (t.runIds?.length !== 1) problems.push(`${t.trigger} tick ${t.key} has ${t.runIds?.length ?? 0} runs`);
    for (const id of t.runIds ?? []) {
      asked.add(id);
      const runs = runsById.get(id) ?? [];
      if (!runs.length && queueById.get(id)?.status === "queued" && t.scheduledAt > lastStarted) {
        waiting++;
        continue;
      }
      if (runs.length !== 1) problems.push(`${t.trigger} tick ${t.key}: run ${id} exists ${runs.length} times`);
      else if (!endings.has(runs[0].status))
        problems.push(`${t.trigger} tick ${t.key}: run ${id} ended ${runs[0].status}`);
    }
  }
  for (const r of h.runs) if (!asked.has(r.id)) problems.push(`run ${r.id} (${r.trigger}) was asked for by no tick`);
  const skippedByCatchUp = schedule ? checkScheduleSlots(h.ticks, schedule, problems) : 0;
  checkLandedFiles(h.ticks, sensor, problems);
  const runsByStatus: Record<string, number> = {};
  for (const r of h.runs) runsByStatus[r.status] = (runsByStatus[r.status] ?? 0) + 1;
  return { problems, requested: requested.length, skippedByCatchUp, waiting, runsByStatus };
}

/** Every slot between the first and the last tick has exactly one tick; skips only within catch-up. */
function checkScheduleSlots(all: TickRecord[], s: ScheduleExpectation, problems: string[]): number {
  const ticks = all
    .filter((t) => t.trigger === s.trigger && t.status !== "failed")
    .sort((a, b) => a.scheduledAt - b.scheduledAt);
  if (!ticks.length) {
    problems.push(`schedule ${s.trigger} has no tick at all`);
    return 0;
  }
  const bySlot = new Map<number, TickRecord[]>();
  for (const t of ticks) bySlot.set(t.scheduledAt, [...(bySlot.get(t.scheduledAt) ?? []), t]);
  for (const [slot, list] of bySlot)
    if (list.length > 1) problems.push(`slot ${iso(slot)} has ${list.length} ticks (doubled)`);
  for (let slot = ticks[0].scheduledAt; slot <= ticks[ticks.length - 1].scheduledAt; slot += s.stepMs) {
    if (!bySlot.has(slot)) problems.push(`slot ${iso(slot)} of ${s.trigger} has no tick (lost)`);
  }
  let skipped = 0;
  for (const t of ticks.filter((x) => x.status === "skipped")) {
    if (!/catch-up-limit/.test(t.reason)) {
      problems.push(`slot ${iso(t.scheduledAt)} skipped for another reason than the catch-up limit: ${t.reason}`);
      continue;
    }
    skipped++;
    // Skipped by the limit only when at least maxCatchUp later slots ran from the same evaluation.
    const ranInstead = ticks.filter(
      (x) => x.status === "requested" && x.evaluatedAt === t.evaluatedAt && x.scheduledAt > t.scheduledAt,
    );
    if (ranInstead.length < s.maxCatchUp) {
      problems.push(
        `slot ${iso(t.scheduledAt)} skipped by the catch-up limit, but only ${ranInstead.length} later slots ran`,
      );
    }
  }
  return skipped;
}

/** Each landed file (by digest) is in exactly one requested sensor tick; no tick names a file never landed. */
function checkLandedFiles(all: TickRecord[], s: SensorExpectation, problems: string[]): void {
  const seen = new Map<string, number>();
  for (const t of all.filter((x) => x.trigger === s.trigger && x.status === "requested")) {
    const files = (t.event as { files?: Array<{ name: string; digest: string }> } | undefined)?.files ?? [];
    if (!files.length) problems.push(`sensor tick ${t.key} names no files`);
    for (const f of files) seen.set(f.digest, (seen.get(f.digest) ?? 0) + 1);
  }
  const landed = new Set(s.landedDigests);
  for (const d of landed) {
    const n = seen.get(d) ?? 0;
    if (n !== 1) problems.push(`landed file ${d.slice(0, 12)} started ${n} runs`);
  }
  for (const d of seen.keys())
    if (!landed.has(d)) problems.push(`a sensor tick names file ${d.slice(0, 12)}, never landed`);
}

const iso = (ms: number) => new Date(ms).toISOString();
