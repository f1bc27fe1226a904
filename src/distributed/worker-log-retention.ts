/**
 * A worker's log files (`<home>/logs/<run>`: a step's output beyond the head and tail the database
 * keeps) live in the worker's own home, where the orchestrator's `trainyard gc` never reaches. A
 * run's files go once the run is gone from the records (gc removed it) and they are an hour old, or
 * once the newest of them is older than the worker's `--keep-logs`. Swept when the worker starts
 * and every hour. Before, they stayed for ever, and a worker left running filled its disk.
 */
import { homeLogs } from "../engine/step-log-files.js";

/** How long a run's log files stay on a worker. @default 30 days */
export const DEFAULT_WORKER_LOG_KEEP_MS = 30 * 86_400_000;
/** A run gone from the records keeps its files this long (a run id the directory name spells otherwise). */
const GONE_GRACE_MS = 3_600_000;
const SWEEP_EVERY_MS = 3_600_000;

export interface WorkerLogRetentionOptions {
  /** The worker's home: its logs are under `<home>/logs`. */
  home: string;
  /** Whether the run is still recorded; a run the store cannot tell about counts as recorded. */
  recorded(runId: string): Promise<boolean>;
  keepMs?: number;
  /** Told of each run whose files went, and why. */
  onRemoved?(runId: string, why: string): void;
}

export class WorkerLogRetention {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<string[]>;

  constructor(private readonly opts: WorkerLogRetentionOptions) {}

  /** Sweeps now, then every hour, until stop(). */
  start(): void {
    void this.sweep().catch(() => undefined);
    this.timer = setInterval(() => void this.sweep().catch(() => undefined), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Removes the log files due to go (one sweep at a time); the runs whose files went. */
  sweep(now = Date.now()): Promise<string[]> {
    this.sweeping ??= this.sweepNow(now).finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepNow(now: number): Promise<string[]> {
    const logs = homeLogs(this.opts.home);
    const keepMs = this.opts.keepMs ?? DEFAULT_WORKER_LOG_KEEP_MS;
    const removed: string[] = [];
    for (const [runId, newest] of await logs.dirs()) {
      const age = now - newest;
      let why: string | undefined;
      if (age > keepMs) why = `its newest log file is older than ${spelled(keepMs)}`;
      else if (age > GONE_GRACE_MS && !(await this.opts.recorded(runId).catch(() => true)))
        why = "its run is gone from the records";
      if (!why) continue;
      await logs.removeDirs([runId]);
      removed.push(runId);
      this.opts.onRemoved?.(runId, why);
    }
    return removed;
  }
}

/** "30 days", "12 hours": how --keep-logs reads back. */
function spelled(ms: number): string {
  const days = ms / 86_400_000;
  if (Number.isInteger(days)) return `${days} day${days === 1 ? "" : "s"}`;
  const hours = Math.round(ms / 3_600_000);
  return `${hours} hour${hours === 1 ? "" : "s"}`;
}
