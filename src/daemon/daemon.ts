/**
 * The daemon: one leader per home (a lease in the metadata store, renewed by every loop as its
 * heartbeat) evaluates each due trigger, records its ticks in the ledger, and launches queued
 * runs as child processes within the concurrency limits. A standby waits for the lease. Faults
 * stay local: a throwing trigger, a broken module or a store error is recorded with backoff and
 * the other triggers go on. SIGTERM drains; runs orphaned by a killed daemon are recovered.
 * This file is the loop; triggers live in trigger-slots.ts, launching in run-dispatch.ts.
 */
import { RepeatedFailures } from "../core/repeated-failures.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { TickStore } from "../store/tick-store.js";
import {
  emptyDaemonStats,
  resolveDaemonOptions,
  type DaemonOptions,
  type DaemonStats,
  type ResolvedDaemonOptions,
} from "./daemon-options.js";
import { daemonHolder, DaemonLease, describeHolder } from "./leader-lease.js";
import { loadNotificationTargets, Notifier } from "./notifications.js";
import { PromotionWatch } from "./promotion-watch.js";
import { RunDispatch } from "./run-dispatch.js";
import { TriggerSlots } from "./trigger-slots.js";

export type { DaemonOptions, DaemonStats } from "./daemon-options.js";

export class Daemon {
  readonly holder = daemonHolder();
  readonly stats: DaemonStats = emptyDaemonStats();
  private readonly o: ResolvedDaemonOptions;
  private readonly lease: DaemonLease;
  private readonly notifier: Notifier;
  private readonly promotions: PromotionWatch;
  private readonly triggers: TriggerSlots;
  private readonly runs: RunDispatch;
  private stopping = false;
  private wake?: () => void;
  private lastRenew = -Infinity;
  /** When the lease was last renewed or sought, successfully or not. */
  private lastHeartbeatTry = -Infinity;
  private loopAt = Date.now();
  /** Steps failing loop after loop: said once, then once a minute. */
  private readonly failures: RepeatedFailures;

  constructor(
    private readonly ty: Trainyard,
    store: TickStore,
    opts: DaemonOptions = {},
  ) {
    this.o = resolveDaemonOptions(opts);
    this.failures = new RepeatedFailures(this.o.log);
    this.lease = new DaemonLease(store, this.holder, this.o.leaseTtlMs);
    this.notifier = new Notifier(opts.notifications ?? loadNotificationTargets(ty.home), this.o.log);
    this.promotions = new PromotionWatch(ty);
    const canGoOn = () => !this.stopping && this.lease.leading;
    const wake = () => this.wake?.();
    this.runs = new RunDispatch(ty, store, this.o, this.stats, this.holder, this.notifier, {
      canGoOn,
      wake,
      labelOf: (id) => this.triggers.labelOf(id),
    });
    this.triggers = new TriggerSlots(ty, store, this.o, this.stats, {
      canGoOn,
      wake,
      activeRunsOf: (id) => this.runs.activeRunsOf(id),
      onQueued: (runId, at) => this.runs.noteQueued(runId, at),
    });
  }

  get leading(): boolean {
    return this.lease.leading;
  }

  /** When the loop last went round (or started): a loop stuck for long is not alive. */
  get lastLoopAt(): number {
    return this.loopAt;
  }

  /** Runs until `stop()`, then drains. */
  async run(): Promise<void> {
    this.o.log(`daemon ${describeHolder(this.holder)} started for ${this.ty.home}`);
    // Modules are bundled before the lease is sought: a new leader that compiled them only after taking
    // it could stall past the lease's expiry, and a standby would take over from a healthy daemon.
    await this.step("load modules", () => this.triggers.reloadModules(Date.now()));
    while (!this.stopping) {
      const loopStart = Date.now();
      this.loopAt = loopStart;
      await this.step("heartbeat", () => this.heartbeat(loopStart));
      if (this.lease.leading && !this.stopping) {
        await this.step("reload modules", () => this.triggers.reloadModules(loopStart));
        await this.step("read trigger states", () => this.triggers.refreshStates(loopStart, false));
        await this.step("evaluate triggers", () => this.triggers.evaluateDue());
        // A long evaluation must not outlive the lease: renew (or learn it was lost) before launching.
        await this.step("heartbeat", () => this.heartbeat(Date.now()));
        await this.step("recover orphans", () => this.runs.recoverOrphans(Date.now()));
        await this.step("launch runs", () => this.runs.launchQueued(loopStart));
        await this.step("watch promotions", () => this.watchPromotions());
      }
      await this.sleepUntil(this.nextWakeAt(Date.now()));
    }
    await this.drain();
  }

  /** Stops ticking and launching; `run()` then drains and releases the lease. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /**
   * A step of the loop. A store error costs this loop's step, never the daemon: the next loop tries
   * again. A step failing loop after loop (a full disk, a database away) says so as repeated-failures.ts does.
   */
  private async step(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      this.failures.succeeded(what);
    } catch (err) {
      this.failures.failed(what, err);
    }
  }

  private async heartbeat(now: number): Promise<void> {
    if (now - this.lastRenew < this.o.renewMs && this.lease.leading) return;
    this.lastHeartbeatTry = now;
    const wasLeading = this.lease.leading;
    try {
      const r = await this.lease.heartbeat(now);
      this.lastRenew = now;
      if (r.leading && !wasLeading) await this.becomeLeader(now, r.tookOverFrom);
      if (!r.leading && wasLeading) this.o.log(`lost the lease to ${describeHolder(r.lease.holder)}; standing by`);
    } catch (err) {
      this.lease.lose();
      throw err;
    }
  }

  private async becomeLeader(now: number, from?: { holder: string; heartbeatAt: number }): Promise<void> {
    this.o.log(`leading${from ? ` (took over from ${describeHolder(from.holder)})` : ""}`);
    if (from) {
      const age = ((now - from.heartbeatAt) / 1000).toFixed(1);
      const text =
        `Trainyard daemon ${describeHolder(from.holder)} stopped heartbeating ${age} s ago;` +
        ` ${describeHolder(this.holder)} took over`;
      this.notifier.notify({ type: "daemon.stale", at: now, text });
    }
    this.runs.takeOver();
    await this.triggers.takeOver(now);
  }

  private async watchPromotions(): Promise<void> {
    for (const e of await this.promotions.poll()) {
      const was = e.fromVersion ? ` (was ${e.fromVersion})` : "";
      const why = `${e.forced ? " (forced)" : ""}${e.reason ? `: ${e.reason}` : ""}`;
      const text = `Trainyard: ${e.model}@${e.alias} now points at version ${e.toVersion}${was}, by ${e.actor}${why}`;
      this.notifier.notify({
        type: "model.promoted",
        at: e.at,
        text,
        model: e.model,
        alias: e.alias,
        version: e.toVersion,
      });
    }
  }

  private nextWakeAt(now: number): number {
    // A heartbeat that failed is not tried again before the next interval: before, the renewal it owed
    // stayed due, and the loop spun (thousands of failed heartbeats a second while the disk was full).
    const renewAt = Math.max(this.lastRenew + this.o.renewMs, this.lastHeartbeatTry + this.o.intervalMs);
    const at = Math.min(now + this.o.intervalMs, renewAt);
    return this.lease.leading ? this.triggers.nextDueAt(at) : at;
  }

  private sleepUntil(at: number): Promise<void> {
    const ms = at - Date.now();
    // Even with work due, yield to the event loop: signals and child exits must get through.
    if (ms <= 0 || this.stopping) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async drain(): Promise<void> {
    const deadline = Date.now() + this.o.drainTimeoutMs;
    await this.runs.drain(deadline, () => this.step("heartbeat", () => this.heartbeat(Date.now())));
    await this.notifier.flush();
    await this.step("release the lease", () => this.lease.release());
    this.o.log("daemon stopped");
  }
}
