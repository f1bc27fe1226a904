/**
 * Run ownership: a run has one owner at a time, the process holding its lease in the metadata
 * store. A claimant takes a lease that is free or whose holder is gone (on this host: its pid
 * and process start time no longer match a live process; on another host: no heartbeat within
 * the expiry); a live holder makes it refuse with RUN_OWNED, naming that holder.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { TrainyardError } from "../core/errors.js";
import type { RunLease, RunRecord, RunStatus, RunStore } from "../store/metadata-store.js";
import { describeIdentity, identityAlive, selfIdentity, type ProcessIdentity } from "../store/process-identity.js";

export interface LeaseTiming {
  /** How often the holder renews its lease. @default 5000 */
  heartbeatMs?: number;
  /** A holder on another host that has not renewed for this long is taken as gone. @default 60000 */
  expiryMs?: number;
}

const HEARTBEAT_MS = 5_000;
const EXPIRY_MS = 60_000;
/** Claims lost to another claimant before giving up; each loss means a new live holder anyway. */
const CLAIM_TRIES = 3;

/** Whether a lease's holder can no longer run its run. */
export function leaseHolderGone(lease: RunLease, now = Date.now(), expiryMs = EXPIRY_MS): boolean {
  const alive = identityAlive(lease.owner);
  return alive === undefined ? now - lease.heartbeatAt > expiryMs : !alive;
}

/** A lease this process holds: renewed on an unref'd timer until released. */
export class HeldRunLease {
  private readonly abort = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private renewing = false;
  private released = false;

  constructor(
    private readonly metadata: RunStore,
    readonly lease: RunLease,
    heartbeatMs: number,
  ) {
    this.timer = setInterval(() => void this.renew(), heartbeatMs);
    this.timer.unref();
  }

  /** Aborts when another process took the run over: this one must stop its steps. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get lost(): boolean {
    return this.abort.signal.aborted;
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.released) return;
    this.renewing = true;
    try {
      if (!(await this.metadata.renewRunLease(this.lease.runId, this.lease.token, Date.now())) && !this.released) {
        this.abort.abort(lostLease(this.lease.runId));
      }
    } catch {
      // A busy or briefly unreachable database: the next heartbeat tries again.
    } finally {
      this.renewing = false;
    }
  }

  /** Stops renewing without releasing: the run reads interrupted once this process is gone. */
  abandon(): void {
    this.released = true;
    clearInterval(this.timer);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    if (!this.lost) await this.metadata.releaseRunLease(this.lease.runId, this.lease.token);
  }
}

/** Takes the lease of a run for this process, or throws RUN_OWNED naming its live holder. */
export async function acquireRunLease(
  metadata: RunStore,
  runId: string,
  timing: LeaseTiming = {},
): Promise<HeldRunLease> {
  const expiryMs = timing.expiryMs ?? EXPIRY_MS;
  let current = await metadata.getRunLease(runId);
  for (let tries = 1; ; tries++) {
    if (current && !leaseHolderGone(current, Date.now(), expiryMs)) throw runOwned(current, expiryMs);
    const now = Date.now();
    const token = randomBytes(16).toString("hex");
    const mine: RunLease = { runId, owner: selfIdentity(), token, acquiredAt: now, heartbeatAt: now };
    const holder = await metadata.claimRunLease(mine, current?.token);
    if (holder.token === mine.token) return new HeldRunLease(metadata, mine, timing.heartbeatMs ?? HEARTBEAT_MS);
    if (tries >= CLAIM_TRIES) throw runOwned(holder, expiryMs);
    current = holder;
  }
}

/**
 * The run as it stands, with "running" corrected to "interrupted" (and recorded so) when its
 * owner is gone. A running run without a lease (recorded before leases existed) is left as is.
 */
export async function reconcileRunStatus(metadata: RunStore, run: RunRecord, expiryMs = EXPIRY_MS): Promise<RunRecord> {
  if (run.status !== "running") return run;
  const lease = await metadata.getRunLease(run.id);
  if (!lease || !leaseHolderGone(lease, Date.now(), expiryMs)) return run;
  // The last heartbeat is the latest moment the owner is known to have been alive.
  const finishedAt = lease.heartbeatAt;
  const status: RunStatus = "interrupted";
  if (await metadata.markRunInterrupted(run.id, lease.token, finishedAt)) return { ...run, status, finishedAt };
  return (await metadata.getRun(run.id)) ?? run;
}

function runOwned(lease: RunLease, expiryMs: number): TrainyardError {
  const { owner } = lease;
  const started = processStartedAt(owner);
  const local = identityAlive(owner) !== undefined;
  const since = `holding it since ${iso(lease.acquiredAt)}`;
  const heartbeat = local ? "" : `, last heartbeat ${Math.round((Date.now() - lease.heartbeatAt) / 1000)} s ago`;
  const who = `${describeIdentity(owner)}${started ? ` (process started ${iso(started)})` : ""}`;
  const hint = local
    ? `wait for that process to finish, or stop it (kill ${owner.pid}) and resume again`
    : `stop it on ${owner.host}, or resume once its lease expires (${expiryMs / 1000} s without a heartbeat, ` +
      `at ${iso(lease.heartbeatAt + expiryMs)})`;
  return new TrainyardError("RUN_OWNED", `run ${lease.runId} is owned by ${who}, ${since}${heartbeat}`, {
    runId: lease.runId,
    owner: { pid: owner.pid, host: owner.host, startedAt: started, acquiredAt: lease.acquiredAt },
    hint,
  });
}

function lostLease(runId: string): TrainyardError {
  return new TrainyardError("RUN_OWNED", `run ${runId} was taken over by another process while this one ran it`, {
    runId,
    hint: `this process stopped its steps; see who owns the run with \`trainyard show ${runId}\``,
  });
}

/** Wall-clock start of a process of this boot (boot time + start ticks at USER_HZ 100); undefined elsewhere. */
function processStartedAt(id: ProcessIdentity): number | undefined {
  const me = selfIdentity();
  if (id.host !== me.host || id.bootId !== me.bootId || !id.startTicks) return undefined;
  try {
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    return Number.isFinite(btime) && btime > 0 ? btime * 1000 + id.startTicks * 10 : undefined;
  } catch {
    return undefined;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}
