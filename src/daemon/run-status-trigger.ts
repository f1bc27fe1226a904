/**
 * One evaluation of a run-status trigger: the runs of the watched pipeline that ended with one of
 * the given statuses since the cursor, read through the engine (which records a run whose owner
 * died as interrupted on the way), each one an event keyed by its run id.
 */
import { isTrainyardError, TrainyardError } from "../core/errors.js";
import type { CompiledRunStatusTrigger } from "../core/triggers.js";
import type { RunRecord, RunStatus } from "../store/metadata-store.js";
import type { EventEvaluation, EventNote, EventRunRequest } from "./event-request.js";

/** The engine's run listing (`Trainyard.listRuns`), newest first, with dead runs reconciled. */
export interface RunLookup {
  listRuns(filter: { pipeline?: string; status?: RunStatus; limit?: number }): Promise<RunRecord[]>;
}

export interface RunStatusCursor {
  v: 1;
  /** Runs that ended before this instant are not events. */
  since: number;
  /** Runs already turned into events (or judged) -> when they ended, kept while within the look-back. */
  seen: Record<string, number>;
}

/**
 * How far behind the newest ending a run may still appear: a run found dead is recorded as ended
 * at its last heartbeat, and other processes' clocks may lag a little.
 */
export const RUN_STATUS_LOOKBACK_MS = 60 * 60_000;
/** Runs read per status and evaluation. */
const LISTED = 500;

/** With no cursor (a new trigger) only runs ending from now on count: history starts nothing. */
export function initialRunStatusCursor(now: number): RunStatusCursor {
  return { v: 1, since: now, seen: {} };
}

export async function evaluateRunStatusTrigger(
  t: CompiledRunStatusTrigger,
  previous: RunStatusCursor | undefined,
  now: number,
  runs: RunLookup,
): Promise<EventEvaluation<RunStatusCursor>> {
  const before = previous ?? initialRunStatusCursor(now);
  const notes: EventNote[] = [];
  if (!previous) {
    notes.push({ kind: "baseline", message: `first evaluation: runs of "${t.pipeline}" that ended before `
      + `${new Date(now).toISOString()} start nothing` });
  }
  const ended: RunRecord[] = [];
  for (const status of t.statuses) {
    const listed = await runs.listRuns({ pipeline: t.pipeline, status, limit: LISTED });
    for (const r of listed) {
      const at = endedAt(r);
      if (at >= before.since && before.seen[r.id] === undefined) ended.push(r);
    }
  }
  ended.sort((a, b) => endedAt(a) - endedAt(b) || (a.id < b.id ? -1 : 1));
  const requests = ended.map((r) => requestFor(t, r));
  const seen: Record<string, number> = { ...before.seen };
  for (const r of ended) seen[r.id] = endedAt(r);
  const newest = Math.max(before.since, ...Object.values(seen));
  const since = Math.max(before.since, newest - RUN_STATUS_LOOKBACK_MS);
  for (const [id, at] of Object.entries(seen)) if (at < since) delete seen[id];
  if (!requests.length) {
    const statuses = t.statuses.join(" or ");
    notes.push({ kind: "no-new-runs", message: `no run of "${t.pipeline}" ended ${statuses} since `
      + `${new Date(before.since).toISOString()} that was not already seen` });
  }
  return { requests, notes, cursor: { v: 1, since, seen } };
}

function requestFor(t: CompiledRunStatusTrigger, run: RunRecord): EventRunRequest {
  const params: Record<string, unknown> = { ...t.params };
  for (const p of t.forwardParams) if (run.params[p] !== undefined) params[p] = run.params[p];
  try {
    t.checkParams(params, t.profile);
  } catch (err) {
    if (!isTrainyardError(err)) throw err;
    throw new TrainyardError("TRIGGER_FAILED", `trigger "${t.name}": run ${run.id} of "${t.pipeline}" maps to an `
      + `invalid run: ${err.message}`, { trigger: t.name, runId: run.id, param: err.fields.param, hint: err.hint, cause: err });
  }
  const at = new Date(endedAt(run)).toISOString();
  const forwarded = t.forwardParams.filter((p) => run.params[p] !== undefined);
  const carried = forwarded.length ? `; carries ${forwarded.map((p) => `${p}=${JSON.stringify(run.params[p])}`).join(", ")}` : "";
  return {
    key: `run-status:${t.name}:${run.id}`,
    params,
    profile: t.profile,
    reason: `trigger "${t.name}": run ${run.id} of "${t.pipeline}" ended ${run.status} at ${at}${carried}`,
    event: { pipeline: t.pipeline, runId: run.id, status: run.status, endedAt: endedAt(run) },
  };
}

function endedAt(run: RunRecord): number {
  return run.finishedAt ?? run.createdAt;
}
