/**
 * Which task fences gc removes. A fence (one row per step a queue run handed to workers) matters
 * while its run is in flight and while `resume` may reattach to its dispatches; resume accepts
 * every run but a succeeded one. So gc removes the fences of succeeded runs, of runs it removes
 * and of runs no longer recorded, and those of failed, cancelled, rejected or interrupted runs
 * only once they are older than `--older-than`; never those of a queued or running run.
 */
import type { RunRecord } from "../store/metadata-records.js";
import type { MetadataStore } from "../store/metadata-store.js";
import { taskFenceFor } from "../store/task-fence-for.js";

export interface FenceCollection {
  /** Runs kept in the metadata after retention, as gc read them. */
  kept: RunRecord[];
  /** Runs retention removes (or, in a dry run, would remove). */
  removedRunIds: Iterable<string>;
  /** gc's age rule, in ms: resumable runs older than this no longer keep their fences. */
  olderThanMs?: number;
  now: number;
  dryRun?: boolean;
}

/** Removes (or with `dryRun` counts) the fences no run can use any more; how many. */
export async function collectTaskFences(metadata: MetadataStore, opts: FenceCollection): Promise<number> {
  // A metadata backend without a task fence has never handed a task to a queue.
  const fences = await taskFenceFor(metadata).catch(() => undefined);
  if (!fences) return 0;
  try {
    const removed = new Set(opts.removedRunIds);
    const unused = new Set(opts.kept.filter((run) => fencesUnused(run, opts)).map((run) => run.id));
    const recorded = new Set(opts.kept.map((r) => r.id));
    // Only runs that have fences; a run no longer recorded was removed earlier (or by another machine's
    // gc), and one started since the runs were read is kept by the store's own check of its status.
    const done = (await fences.fencedRuns()).filter((id) => removed.has(id) || unused.has(id) || !recorded.has(id));
    return await fences.removeRunFences(done, { dryRun: opts.dryRun });
  } finally {
    await fences.close();
  }
}

function fencesUnused(run: RunRecord, opts: FenceCollection): boolean {
  if (run.status === "queued" || run.status === "running") return false;
  // `trainyard resume` refuses a succeeded run, so nothing reads its fences again.
  if (run.status === "succeeded") return true;
  return opts.olderThanMs !== undefined && opts.now - run.createdAt > opts.olderThanMs;
}
