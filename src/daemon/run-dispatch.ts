/**
 * Launching and concurrency: queued runs start as child processes within the global and
 * per-pipeline limits, runs orphaned by a killed daemon are relaunched or resumed (fenced by the
 * ledger, so only one daemon does it), finished runs are noted and notified, and a draining
 * daemon waits for its children before leaving the rest to `resume`.
 */
import { crashPoint } from "../core/crash-point.js";
import { describeError } from "../core/errors.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { TickStore } from "../store/tick-store.js";
import type { DaemonStats, ResolvedDaemonOptions } from "./daemon-options.js";
import type { ActiveRun } from "./daemon-trigger.js";
import { describeHolder } from "./leader-lease.js";
import type { Notifier } from "./notifications.js";
import { OrphanRecovery } from "./orphan-recovery.js";
import { RunLauncher, type RunChild } from "./run-launcher.js";

type TrackedRun = ActiveRun & { trigger: string; pipeline: string };

export interface RunDispatchHooks {
  /** False once the daemon stops or loses the lease: no further launch. */
  canGoOn(): boolean;
  /** `kind:name` of a trigger id, as the run records what started it. */
  labelOf(triggerId: string): string;
  /** Wakes the daemon's loop (a run ended: a slot is free). */
  wake(): void;
}

export class RunDispatch {
  private readonly launcher: RunLauncher;
  private readonly orphans: OrphanRecovery;
  /** Runs not finished, by id: queued rows, watched children, live orphans. */
  private active = new Map<string, TrackedRun>();
  private liveOrphans = new Map<string, { trigger: string; pipeline: string; tickKey: string }>();
  private readonly reportedAbandoned = new Set<string>();
  /** When the tick of a run queued by this daemon was due, until it is launched. */
  private readonly dueAt = new Map<string, number>();
  private lastOrphanScan = -Infinity;

  constructor(
    private readonly ty: Trainyard,
    private readonly store: TickStore,
    private readonly o: ResolvedDaemonOptions,
    private readonly stats: DaemonStats,
    private readonly holder: string,
    private readonly notifier: Notifier,
    private readonly hooks: RunDispatchHooks,
  ) {
    this.launcher = new RunLauncher({
      home: ty.home,
      env: o.childEnv,
      onExit: (c, code, sig) => void this.onRunExit(c, code, sig),
    });
    this.orphans = new OrphanRecovery(store, ty.metadata);
  }

  get runningCount(): number {
    return this.launcher.activeCount;
  }

  /** A new leader scans for orphans on its first loop. */
  takeOver(): void {
    this.lastOrphanScan = -Infinity;
  }

  activeRunsOf(triggerId: string): ActiveRun[] {
    return [...this.active.values()].filter((r) => r.trigger === triggerId);
  }

  noteQueued(runId: string, scheduledAt: number): void {
    this.dueAt.set(runId, scheduledAt);
  }

  private activeFor(pipeline: string): number {
    let n = this.launcher.activeFor(pipeline);
    for (const o of this.liveOrphans.values()) if (o.pipeline === pipeline) n++;
    return n;
  }

  async launchQueued(loopStart: number): Promise<void> {
    const queued = await this.store.listQueuedRuns({ status: "queued" });
    const active = new Map<string, TrackedRun>();
    for (const r of queued)
      active.set(r.runId, {
        runId: r.runId,
        status: "queued",
        tickKey: r.tickKey,
        trigger: r.trigger,
        pipeline: r.pipeline,
      });
    for (const [runId, o] of this.liveOrphans) active.set(runId, { runId, status: "running", ...o });
    // Overlap "queue": a trigger with a run running launches no serial run; its waiting ones keep their order.
    const busyTriggers = new Set<string>([...this.launcher.list(), ...this.liveOrphans.values()].map((r) => r.trigger));
    for (const r of queued) {
      if (!this.hooks.canGoOn()) break;
      if (this.launcher.activeCount + this.liveOrphans.size >= this.o.maxConcurrentRuns) break;
      if (r.serial && busyTriggers.has(r.trigger)) continue;
      const limit = this.o.pipelineLimits?.[r.pipeline];
      if (limit !== undefined && this.activeFor(r.pipeline) >= limit) {
        if (r.serial) busyTriggers.add(r.trigger);
        continue;
      }
      if (!(await this.store.markLaunched(r.runId, this.holder, Date.now()))) continue;
      const child = this.launcher.launch(r, this.hooks.labelOf(r.trigger));
      crashPoint("run-launched");
      busyTriggers.add(r.trigger);
      this.noteLaunch(child, Math.max(loopStart, r.createdAt), r.trigger);
      active.set(r.runId, {
        runId: r.runId,
        status: "running",
        tickKey: r.tickKey,
        trigger: r.trigger,
        pipeline: r.pipeline,
      });
    }
    for (const c of this.launcher.list()) {
      if (!active.has(c.runId))
        active.set(c.runId, {
          runId: c.runId,
          status: "running",
          tickKey: "",
          trigger: c.trigger,
          pipeline: c.pipeline,
        });
    }
    this.active = active;
  }

  private noteLaunch(child: RunChild, pickedUpAt: number, trigger: string): void {
    const overhead = child.spawnedAt - pickedUpAt;
    const due = this.dueAt.get(child.runId);
    this.dueAt.delete(child.runId);
    this.stats.launches++;
    this.stats.launchOverheadMs.push(overhead);
    const sinceDue = due === undefined ? "" : `, ${child.spawnedAt - due} ms after its tick was due`;
    this.o.log(
      `launched ${child.mode} ${child.runId} for ${trigger}` +
        ` (pid ${child.pid ?? "?"}, ${overhead} ms after pick-up${sinceDue})`,
    );
  }

  async recoverOrphans(now: number): Promise<void> {
    if (now - this.lastOrphanScan < this.o.orphanScanMs) return;
    this.lastOrphanScan = now;
    const scanOptions = {
      now,
      launchGraceMs: this.o.launchGraceMs,
      watching: (id: string) => this.launcher.has(id),
      maxAttempts: 3,
    };
    const actions = await this.orphans.scan(scanOptions);
    const alive = new Map<string, { trigger: string; pipeline: string; tickKey: string }>();
    for (const a of actions) {
      if (!this.hooks.canGoOn()) break;
      const { row } = a;
      // A run still starting (launched, not recorded yet) counts as running, like a live one.
      if (a.kind === "alive" || a.kind === "starting") {
        alive.set(row.runId, { trigger: row.trigger, pipeline: row.pipeline, tickKey: row.tickKey });
        continue;
      }
      // Fenced: only the daemon that moves the row from its last launcher relaunches or resumes it.
      if (!(await this.store.markLaunched(row.runId, this.holder, Date.now(), row.launchedBy))) continue;
      const child =
        a.kind === "relaunch" ? this.launcher.launch(row, this.hooks.labelOf(row.trigger)) : this.launcher.resume(row);
      const by = describeHolder(row.launchedBy ?? "?");
      this.o.log(`${a.kind === "relaunch" ? "relaunched" : "resumed"} orphaned run ${row.runId} (launched by ${by})`);
      this.noteLaunch(child, now, row.trigger);
    }
    for (const id of this.orphans.abandoned) {
      if (this.reportedAbandoned.has(id)) continue;
      this.reportedAbandoned.add(id);
      this.o.log(`gave up recovering run ${id} after 3 attempts; \`trainyard resume ${id}\` by hand`);
    }
    this.liveOrphans = alive;
  }

  private async onRunExit(child: RunChild, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.hooks.wake();
    try {
      const found = await this.ty.metadata.getRun(child.runId);
      const run = found?.id === child.runId ? found : undefined;
      this.o.log(
        `${child.mode} ${child.runId} exited (${signal ?? `code ${code}`}): ${run?.status ?? "no run recorded"}`,
      );
      if (!run || run.status === "running") return; // the orphan scan relaunches or resumes it
      this.orphans.markFinished(child.runId);
      if (run.status === "failed" || run.status === "rejected") {
        const what =
          run.status === "failed" ? `failed: ${run.error?.message ?? "see its log"}` : "was rejected by a gate";
        this.notifier.notify({
          type: run.status === "failed" ? "run.failed" : "run.rejected",
          at: Date.now(),
          text: `Trainyard run ${run.id} of ${run.pipeline} (${run.trigger}) ${what}`,
          runId: run.id,
          pipeline: run.pipeline,
          trigger: run.trigger,
          error: run.error && { code: run.error.code, message: run.error.message },
        });
      }
    } catch (err) {
      this.o.log(`reading run ${child.runId} after it exited failed: ${describeError(err).message}`);
    }
  }

  /** Waits for this daemon's children until `deadline`, heartbeating; the rest is left to `resume`. */
  async drain(deadline: number, heartbeat: () => Promise<void>): Promise<void> {
    const n = this.launcher.activeCount;
    if (n) this.o.log(`draining: waiting up to ${this.o.drainTimeoutMs} ms for ${n} run(s)`);
    while (this.launcher.activeCount && Date.now() < deadline) {
      await this.launcher.drain(Math.min(this.o.renewMs, deadline - Date.now()));
      await heartbeat();
    }
    for (const c of this.launcher.list()) {
      this.o.log(
        `left run ${c.runId} running (pid ${c.pid}); \`trainyard resume ${c.runId}\` continues it if it stops`,
      );
    }
  }
}
