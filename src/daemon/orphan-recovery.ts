/**
 * Runs a daemon launched and no longer watches (it was killed with -9, or this daemon took over
 * from another): a launched queue row whose run never appeared is relaunched under the same id
 * (the engine refuses a second run of one id, so this is exactly-once); a run still "running"
 * whose process is dead is handed to `trainyard resume`. Live ones count against the limits.
 */
import { readFileSync } from "node:fs";
import type { MetadataStore, RunRecord } from "../store/metadata-store.js";
import { processStartTicks } from "../store/process-identity.js";
import type { QueuedRun, TickStore } from "../store/tick-store.js";

export type OrphanAction =
  | { kind: "relaunch"; row: QueuedRun }
  | { kind: "resume"; row: QueuedRun; run: RunRecord }
  | { kind: "alive"; row: QueuedRun; run: RunRecord }
  /** Launched within the grace period and not recorded yet: its process is probably starting. */
  | { kind: "starting"; row: QueuedRun };

export interface OrphanScanOptions {
  now: number;
  /** A launched run that has not appeared after this long is relaunched. */
  launchGraceMs: number;
  /** Runs this daemon is watching itself. */
  watching: (runId: string) => boolean;
  /** Relaunches and resumes per run before giving up (like Dagster's max_resume_run_attempts). */
  maxAttempts: number;
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "rejected"]);

export class OrphanRecovery {
  /** Runs found finished: never looked up again. */
  private readonly finished = new Set<string>();
  private readonly attempts = new Map<string, number>();
  /** Runs given up on, reported once. */
  readonly abandoned = new Set<string>();

  constructor(
    private readonly store: TickStore,
    private readonly metadata: MetadataStore,
  ) {}

  markFinished(runId: string): void {
    this.finished.add(runId);
    this.attempts.delete(runId);
  }

  async scan(opts: OrphanScanOptions): Promise<OrphanAction[]> {
    const actions: OrphanAction[] = [];
    for (const row of await this.store.listQueuedRuns({ status: "launched" })) {
      if (this.finished.has(row.runId) || this.abandoned.has(row.runId) || opts.watching(row.runId)) continue;
      const found = await this.metadata.getRun(row.runId);
      const run = found?.id === row.runId ? found : undefined;
      if (!run) {
        if (opts.now - (row.launchedAt ?? row.createdAt) >= opts.launchGraceMs)
          this.act(actions, { kind: "relaunch", row }, opts);
        else actions.push({ kind: "starting", row });
      } else if (TERMINAL.has(run.status)) {
        this.markFinished(row.runId);
      } else if (run.pid && pidAlive(run.pid)) {
        actions.push({ kind: "alive", row, run });
      } else {
        this.act(actions, { kind: "resume", row, run }, opts);
      }
    }
    return actions;
  }

  private act(actions: OrphanAction[], action: OrphanAction, opts: OrphanScanOptions): void {
    const n = (this.attempts.get(action.row.runId) ?? 0) + 1;
    if (n > opts.maxAttempts) {
      this.abandoned.add(action.row.runId);
      return;
    }
    this.attempts.set(action.row.runId, n);
    actions.push(action);
  }
}

/** A pid with a /proc entry that is not a zombie. */
function pidAlive(pid: number): boolean {
  return processStartTicks(pid) !== undefined && !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}
