/**
 * One leader per home: the daemon holding the "daemon" lease row evaluates triggers and launches
 * runs; any other daemon waits as a standby and takes over once the lease expires. The holder
 * string names the process (host, pid, start time) so a reader can tell a dead leader at once.
 */
import { describeIdentity, identityAlive, selfIdentity, type ProcessIdentity } from "../store/process-identity.js";
import type { LeaderLease, TickStore } from "../store/tick-store.js";

export const DAEMON_LEASE = "daemon";

/** `daemon@host:pid:startTicks:boot` for this process. */
export function daemonHolder(id: ProcessIdentity = selfIdentity()): string {
  return `daemon@${id.host}:${id.pid}:${id.startTicks}:${id.bootId.slice(0, 8)}`;
}

export function parseHolder(holder: string): ProcessIdentity | undefined {
  const m = /^daemon@(.*):(\d+):(\d+):([0-9a-f-]*)$/.exec(holder);
  if (!m) return undefined;
  return { host: m[1], pid: Number(m[2]), startTicks: Number(m[3]), bootId: "" };
}

/** Whether the process named by a holder string still runs (undefined: another host, unknown). */
export function holderAlive(holder: string): boolean | undefined {
  const id = parseHolder(holder);
  return id ? identityAlive(id) : undefined;
}

export function describeHolder(holder: string): string {
  const id = parseHolder(holder);
  return id ? describeIdentity(id) : holder;
}

export interface LeaseOutcome {
  leading: boolean;
  lease: LeaderLease;
  /** The lease this daemon just took over from another holder whose lease had expired. */
  tookOverFrom?: LeaderLease;
}

export class DaemonLease {
  private held = false;

  constructor(
    private readonly store: TickStore,
    readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  get leading(): boolean {
    return this.held;
  }

  /** Takes the lease when free or expired, renews it when held: the daemon's heartbeat. */
  async heartbeat(now: number): Promise<LeaseOutcome> {
    const before = this.held ? undefined : await this.store.getLease(DAEMON_LEASE);
    const r = await this.store.acquireLease(DAEMON_LEASE, this.holder, this.ttlMs, now);
    const tookOver = r.acquired && !this.held && before && before.holder !== this.holder ? before : undefined;
    this.held = r.acquired;
    return { leading: r.acquired, lease: r.lease, tookOverFrom: tookOver };
  }

  /** Gives the lease up (drain), so a standby takes over at once instead of after the TTL. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.store.releaseLease(DAEMON_LEASE, this.holder);
  }

  /** Forgets the lease without touching the store (it was lost, or the store failed). */
  lose(): void {
    this.held = false;
  }
}
