/**
 * Is the autonomy loop alive? The leader and the age of its heartbeat, every trigger's last
 * evaluation, last tick and lag, and the queued and running runs. `trainyard status` prints it
 * and the HTTP API's `/metrics` can serve it: a stale or missing heartbeat is a problem to
 * report, never "nothing due".
 */
import type { MetadataStore } from "../store/metadata-store.js";
import type { ErrorInfo } from "../core/errors.js";
import type { QueuedRun, TickStore, TickStatus } from "../store/tick-store.js";
import { seconds } from "../core/repeated-failures.js";
import { DAEMON_LEASE, describeHolder, holderAlive } from "./leader-lease.js";

export interface TriggerHealth {
  trigger: string;
  paused: boolean;
  evaluatedAt?: number;
  /** now - evaluatedAt. */
  evaluationAgeMs?: number;
  lastTick?: { key: string; status: TickStatus; reason: string; scheduledAt: number; evaluatedAt: number };
  /** How late the last tick was recorded after its scheduled time. */
  lagMs?: number;
  failures: number;
  backoffUntil?: number;
  lastError?: ErrorInfo;
}

export interface DaemonHealth {
  at: number;
  /** "ok", "stale" (the leader stopped heartbeating) or "stopped" (no leader at all). */
  state: "ok" | "stale" | "stopped";
  leader?: {
    holder: string;
    process: string;
    alive?: boolean;
    heartbeatAt: number;
    heartbeatAgeMs: number;
    expiresAt: number;
    since: number;
  };
  triggers: TriggerHealth[];
  queued: QueuedRun[];
  running: Array<{ runId: string; pipeline: string; trigger: string; pid?: number; startedAt?: number }>;
  /** What is wrong, one sentence each; empty when healthy. */
  problems: string[];
}

export interface HealthOptions {
  now?: number;
  /** A heartbeat older than this is stale. @default 10000 (the lease TTL) */
  staleAfterMs?: number;
  /** A trigger not evaluated for this long while the leader is fresh is stuck. @default 120000 */
  triggerStaleAfterMs?: number;
}

export async function daemonHealth(
  store: TickStore,
  metadata: MetadataStore,
  opts: HealthOptions = {},
): Promise<DaemonHealth> {
  const at = opts.now ?? Date.now();
  const staleAfter = opts.staleAfterMs ?? 10_000;
  const problems: string[] = [];
  const lease = await store.getLease(DAEMON_LEASE);
  let state: DaemonHealth["state"] = "stopped";
  let leader: DaemonHealth["leader"];
  if (lease) {
    const age = at - lease.heartbeatAt;
    const alive = holderAlive(lease.holder);
    leader = {
      holder: lease.holder,
      process: describeHolder(lease.holder),
      alive,
      heartbeatAt: lease.heartbeatAt,
      heartbeatAgeMs: age,
      expiresAt: lease.expiresAt,
      since: lease.acquiredAt,
    };
    state = age > staleAfter || lease.expiresAt < at || alive === false ? "stale" : "ok";
    if (state === "stale") {
      const dead = alive === false ? " and its process is gone" : "";
      problems.push(
        `the daemon (${leader.process}) last heartbeat ${seconds(age)} ago${dead}: no trigger is being evaluated`,
      );
    }
  }
  const triggers: TriggerHealth[] = [];
  for (const s of await store.listTriggerStates()) {
    const [last] = await store.listTicks(s.trigger, { limit: 1 });
    const h: TriggerHealth = {
      trigger: s.trigger,
      paused: s.paused,
      evaluatedAt: s.evaluatedAt,
      evaluationAgeMs: s.evaluatedAt === undefined ? undefined : at - s.evaluatedAt,
      failures: s.failures,
      backoffUntil: s.backoffUntil,
      lastError: s.lastError,
    };
    if (last) {
      h.lastTick = {
        key: last.key,
        status: last.status,
        reason: last.reason,
        scheduledAt: last.scheduledAt,
        evaluatedAt: last.evaluatedAt,
      };
      h.lagMs = last.evaluatedAt - last.scheduledAt;
    }
    if (s.failures > 0)
      problems.push(
        `trigger ${s.trigger} failed ${s.failures} time(s) in a row: ${s.lastError?.message ?? "unknown error"}`,
      );
    else if (
      state === "ok" &&
      !s.paused &&
      h.evaluationAgeMs !== undefined &&
      h.evaluationAgeMs > (opts.triggerStaleAfterMs ?? 120_000)
    ) {
      problems.push(
        `trigger ${s.trigger} was last evaluated ${seconds(h.evaluationAgeMs)} ago although the daemon is alive`,
      );
    }
    triggers.push(h);
  }
  const queued = await store.listQueuedRuns({ status: "queued" });
  if (state === "stopped" && (triggers.length || queued.length)) {
    problems.push(
      "no daemon is running: triggers are not evaluated and queued runs wait (start one with `trainyard daemon`)",
    );
  }
  const running = (await metadata.listRuns({ status: "running", limit: 1000 })).map((r) => ({
    runId: r.id,
    pipeline: r.pipeline,
    trigger: r.trigger,
    pid: r.pid,
    startedAt: r.startedAt,
  }));
  return { at, state, leader, triggers, queued, running, problems };
}
