/**
 * The daemon's options with their defaults, and the figures it keeps about itself (ticks,
 * deduplications, launches, lags) for `status`, `/metrics` and the benchmarks.
 */
import type { Trainyard } from "../engine/trainyard.js";
import type { DaemonTrigger } from "./daemon-trigger.js";
import type { NotificationTarget } from "./notifications.js";

export interface DaemonOptions {
  /** Pipeline modules whose triggers this daemon serves. @default none */
  modules?: string[];
  /** Triggers given directly (embedding, tests), served beside those of `modules`. */
  triggers?: DaemonTrigger[];
  /** How a module's triggers are found. @default its declarations (p.schedule, p.sensor, ... and config triggers) */
  loadTriggers?: (ty: Trainyard, modulePath: string) => Promise<DaemonTrigger[]>;
  /** Runs launched at once, over all pipelines. @default 4 */
  maxConcurrentRuns?: number;
  /** Per-pipeline caps on running runs. @default none */
  pipelineLimits?: Record<string, number>;
  /** Longest sleep between loops. @default 1000 */
  intervalMs?: number;
  /** @default 10000 */
  leaseTtlMs?: number;
  /** Heartbeat (lease renewal) period. @default 2000 */
  renewMs?: number;
  /** A trigger with nothing to record still notes its evaluation this often. @default 60000 */
  triggerHeartbeatMs?: number;
  /** A launched run that has not appeared after this long is relaunched with its id. @default 60000 */
  launchGraceMs?: number;
  /** @default 5000 */
  orphanScanMs?: number;
  /** How often modules are checked for changes (and errors). @default 5000 */
  reloadMs?: number;
  /** How long SIGTERM waits for running runs before leaving them to `resume`. @default 30000 */
  drainTimeoutMs?: number;
  /** @default 30000 */
  evaluationTimeoutMs?: number;
  /** @default `<home>/notifications.json` */
  notifications?: NotificationTarget[];
  /** Extra environment for launched runs (e.g. TRAINYARD_METADATA_URL). */
  childEnv?: Record<string, string>;
  log?: (line: string) => void;
}

export const DAEMON_DEFAULTS = {
  maxConcurrentRuns: 4,
  intervalMs: 1000,
  leaseTtlMs: 10_000,
  renewMs: 2000,
  triggerHeartbeatMs: 60_000,
  launchGraceMs: 60_000,
  orphanScanMs: 5000,
  reloadMs: 5000,
  drainTimeoutMs: 30_000,
  evaluationTimeoutMs: 30_000,
};

export type ResolvedDaemonOptions = typeof DAEMON_DEFAULTS & DaemonOptions & { log: (line: string) => void };

export function resolveDaemonOptions(opts: DaemonOptions): ResolvedDaemonOptions {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<DaemonOptions>;
  return { ...DAEMON_DEFAULTS, ...given, log: opts.log ?? (() => undefined) };
}

export interface DaemonStats {
  ticks: number;
  deduplicated: number;
  failedEvaluations: number;
  launches: number;
  /** Recorded time minus scheduled time of each new tick. */
  tickLagsMs: number[];
  /** From the loop picking the run up to its child process being spawned. */
  launchOverheadMs: number[];
}

export function emptyDaemonStats(): DaemonStats {
  return { ticks: 0, deduplicated: 0, failedEvaluations: 0, launches: 0, tickLagsMs: [], launchOverheadMs: [] };
}
