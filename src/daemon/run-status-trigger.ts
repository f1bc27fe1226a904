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
  listRuns(filter: { pipeline?: string; status?: RunStatus; trigger?: string; limit?: number }): Promise<RunRecord[]>;
}

export interface RunStatusCursor {
  v: 1;
  /** Runs that ended before this instant are not events. */
  since: number;
  /** Runs already turned into events (or there before the first evaluation) -> when they ended. */
  seen: Record<string, number>;
}

/**
 * How long after its recorded end a run may still appear: a run found dead is recorded as ended
 * at its last heartbeat, which is in the past by then; other processes' clocks may lag a little.
 */
export const RUN_STATUS_LOOKBACK_MS = 60 * 60_000;
/** Runs read per status and evaluation. */
const LISTED = 500;

/**
 * With no cursor (a new trigger) the runs that already ended are noted as seen: history starts
 * nothing, while a run reconciled as interrupted later (ending "in the past") still counts.
 */
export async function evaluateRunStatusTrigger(
  t: CompiledRunStatusTrigger,
  previous: RunStatusCursor | undefined,
  now: number,
  runs: RunLookup,
): Promise<EventEvaluation<RunStatusCursor>> {
  const before = previous ?? { v: 1, since: now - RUN_STATUS_LOOKBACK_MS, seen: {} };
  const ended: RunRecord[] = [];
  for (const status of t.statuses) {
    for (const r of await runs.listRuns({ pipeline: t.pipeline, status, limit: LISTED })) {
      if (endedAt(r) >= before.since && before.seen[r.id] === undefined) ended.push(r);
    }
  }
  ended.sort((a, b) => endedAt(a) - endedAt(b) || (a.id < b.id ? -1 : 1));
  const seen: Record<string, number> = { ...before.seen };
  for (const r of ended) seen[r.id] = endedAt(r);
  const since = Math.max(before.since, now - RUN_STATUS_LOOKBACK_MS);
  for (const [id, at] of Object.entries(seen)) if (at < since) delete seen[id];
  const cursor: RunStatusCursor = { v: 1, since, seen };
  if (!previous) {
    const message = `first evaluation: ${ended.length} run(s) of "${t.pipeline}" that already ended start nothing`;
    return { requests: [], notes: [{ kind: "baseline", message }], cursor };
  }
  const requests = ended.map((r) => requestFor(t, r));
  const notes: EventNote[] = [];
  if (!requests.length) {
    notes.push({
      kind: "no-new-runs",
      message: `no run of "${t.pipeline}" ended ${t.statuses.join(" or ")} since the ` + "last evaluation",
    });
  }
  return { requests, notes, cursor };
}

function requestFor(t: CompiledRunStatusTrigger, run: RunRecord): EventRunRequest {
  const params: Record<string, unknown> = { ...t.params };
  for (const p of t.forwardParams) if (run.params[p] !== undefined) params[p] = run.params[p];
  try {
    t.checkParams(params, t.profile);
  } catch (err) {
    if (!isTrainyardError(err)) throw err;
    throw new TrainyardError(
      "TRIGGER_FAILED",
      `trigger "${t.name}": run ${run.id} of "${t.pipeline}" maps to an ` + `invalid run: ${err.message}`,
      {
        trigger: t.name,
        runId: run.id,
        param: err.fields.param,
        hint: err.hint,
        cause: err,
      },
    );
  }
  const at = new Date(endedAt(run)).toISOString();
  const forwarded = t.forwardParams.filter((p) => run.params[p] !== undefined);
  const values = forwarded.map((p) => `${p}=${JSON.stringify(run.params[p])}`).join(", ");
  const carried = values ? `; carries ${values}` : "";
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
