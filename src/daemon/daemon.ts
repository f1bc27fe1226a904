/**
 * The daemon: one leader per home (a lease in the metadata store, renewed by every loop as its
 * heartbeat) evaluates each due trigger, records its ticks in the ledger, and launches queued
 * runs as child processes within the concurrency limits. A standby waits for the lease. Faults
 * stay local: a throwing trigger, a broken module or a store error is recorded with backoff and
 * the other triggers go on. SIGTERM drains; runs orphaned by a killed daemon are recovered.
 */
import { crashPoint } from "../core/crash-point.js";
import { describeError, isTrainyardError, TrainyardError } from "../core/errors.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { TickStore, TriggerState } from "../store/tick-store.js";
import type { ActiveRun, DaemonTrigger } from "./daemon-trigger.js";
import { daemonHolder, DaemonLease, describeHolder } from "./leader-lease.js";
import { loadNotificationTargets, Notifier, type NotificationTarget } from "./notifications.js";
import { OrphanRecovery } from "./orphan-recovery.js";
import { PromotionWatch } from "./promotion-watch.js";
import { RunLauncher, type RunChild } from "./run-launcher.js";
import { loadDeclaredTriggers } from "./declared-triggers.js";
import { loadModuleTriggers } from "./stand-in-triggers.js";
import { backoffMs, recordEvaluation, recordFailure } from "./tick-recorder.js";

export interface DaemonOptions {
  /** Pipeline modules whose triggers this daemon serves. @default none */
  modules?: string[];
  /** Triggers given directly (embedding, tests), served beside those of `modules`. */
  triggers?: DaemonTrigger[];
  /** How a module's triggers are found. @default its declarations (p.schedule, p.sensor, ...), then a `triggers` export */
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

interface TriggerSlot {
  trigger: DaemonTrigger;
  module?: string;
  dueAt: number;
  paused: boolean;
  failures: number;
  backoffUntil: number;
  cursor: unknown;
  notedAt: number;
  /** The module's load error while it does not compile. */
  broken?: unknown;
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

const DEFAULTS = { maxConcurrentRuns: 4, intervalMs: 1000, leaseTtlMs: 10_000, renewMs: 2000, triggerHeartbeatMs: 60_000, launchGraceMs: 60_000, orphanScanMs: 5000, reloadMs: 5000, drainTimeoutMs: 30_000, evaluationTimeoutMs: 30_000 };

export class Daemon {
  readonly holder = daemonHolder();
  readonly stats: DaemonStats = { ticks: 0, deduplicated: 0, failedEvaluations: 0, launches: 0, tickLagsMs: [], launchOverheadMs: [] };
  private readonly o: typeof DEFAULTS & DaemonOptions;
  private readonly lease: DaemonLease;
  private readonly launcher: RunLauncher;
  private readonly orphans: OrphanRecovery;
  private readonly notifier: Notifier;
  private readonly promotions: PromotionWatch;
  private readonly slots = new Map<string, TriggerSlot>();
  private readonly moduleIds = new Map<string, string[]>();
  private readonly brokenModules = new Map<string, number>();
  /** Runs not finished, by id: queued rows, watched children, live orphans. */
  private active = new Map<string, ActiveRun & { trigger: string; pipeline: string }>();
  private liveOrphans = new Map<string, { trigger: string; pipeline: string; tickKey: string }>();
  private readonly reportedAbandoned = new Set<string>();
  /** When the tick of a run queued by this daemon was due, until it is launched. */
  private readonly dueAt = new Map<string, number>();
  private stopping = false;
  private wake?: () => void;
  private last = { renew: -Infinity, states: -Infinity, reload: -Infinity, orphans: -Infinity };
  private log: (line: string) => void;

  constructor(
    private readonly ty: Trainyard,
    private readonly store: TickStore,
    opts: DaemonOptions = {},
  ) {
    this.o = { ...DEFAULTS, ...definedOnly(opts) };
    this.log = opts.log ?? (() => undefined);
    this.lease = new DaemonLease(store, this.holder, this.o.leaseTtlMs);
    this.launcher = new RunLauncher({ home: ty.home, env: opts.childEnv, onExit: (c, code, sig) => void this.onRunExit(c, code, sig) });
    this.orphans = new OrphanRecovery(store, ty.metadata);
    this.notifier = new Notifier(opts.notifications ?? loadNotificationTargets(ty.home), this.log);
    this.promotions = new PromotionWatch(ty);
    for (const t of opts.triggers ?? []) this.addSlot(t, undefined);
  }

  get leading(): boolean {
    return this.lease.leading;
  }

  /** Runs until `stop()`, then drains. */
  async run(): Promise<void> {
    this.log(`daemon ${describeHolder(this.holder)} started for ${this.ty.home}`);
    while (!this.stopping) {
      const loopStart = Date.now();
      await this.step("heartbeat", () => this.heartbeat(loopStart));
      if (this.lease.leading && !this.stopping) {
        await this.step("reload modules", () => this.reloadModules(loopStart));
        await this.step("read trigger states", () => this.refreshStates(loopStart, false));
        await this.step("evaluate triggers", () => this.evaluateDue());
        await this.step("recover orphans", () => this.recoverOrphans(Date.now()));
        await this.step("launch runs", () => this.launchQueued(loopStart));
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

  private async step(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      // A store error costs this loop's step, never the daemon: the next loop tries again.
      this.log(`${what} failed: ${describeError(err).message}`);
    }
  }

  private async heartbeat(now: number): Promise<void> {
    if (now - this.last.renew < this.o.renewMs && this.lease.leading) return;
    const wasLeading = this.lease.leading;
    try {
      const r = await this.lease.heartbeat(now);
      this.last.renew = now;
      if (r.leading && !wasLeading) await this.becomeLeader(now, r.tookOverFrom);
      if (!r.leading && wasLeading) this.log(`lost the lease to ${describeHolder(r.lease.holder)}; standing by`);
    } catch (err) {
      this.lease.lose();
      throw err;
    }
  }

  private async becomeLeader(now: number, from?: { holder: string; heartbeatAt: number }): Promise<void> {
    this.log(`leading${from ? ` (took over from ${describeHolder(from.holder)})` : ""}`);
    if (from) {
      const age = ((now - from.heartbeatAt) / 1000).toFixed(1);
      this.notifier.notify({ type: "daemon.stale", at: now, text: `Trainyard daemon ${describeHolder(from.holder)} stopped heartbeating ${age} s ago; ${describeHolder(this.holder)} took over` });
    }
    this.last = { renew: now, states: -Infinity, reload: -Infinity, orphans: -Infinity };
    await this.reloadModules(now);
    await this.refreshStates(now, true);
  }

  private addSlot(trigger: DaemonTrigger, module: string | undefined): void {
    const slot = this.slots.get(trigger.id);
    if (slot) {
      if (slot.trigger !== trigger) Object.assign(slot, { trigger, dueAt: 0 });
      slot.broken = undefined;
      return;
    }
    this.slots.set(trigger.id, { trigger, module, dueAt: 0, paused: false, failures: 0, backoffUntil: 0, cursor: undefined, notedAt: 0 });
    trigger.wake?.(() => {
      const s = this.slots.get(trigger.id);
      if (s) s.dueAt = 0;
      this.wake?.();
    });
  }

  private async reloadModules(now: number): Promise<void> {
    if (now - this.last.reload < this.o.reloadMs) return;
    this.last.reload = now;
    const load = this.o.loadTriggers ?? loadAllTriggers;
    for (const module of this.o.modules ?? []) {
      try {
        const triggers = await load(this.ty, module);
        const ids = triggers.map((t) => t.id);
        for (const old of this.moduleIds.get(module) ?? []) if (!ids.includes(old)) this.slots.delete(old);
        for (const t of triggers) this.addSlot(t, module);
        this.moduleIds.set(module, ids);
        if (this.brokenModules.delete(module)) await this.store.noteEvaluation(`module:${module}`, { at: now });
      } catch (err) {
        const ids = this.moduleIds.get(module);
        // Known triggers fail one by one (failed ticks, backoff); a module never loaded is noted under its path.
        if (ids?.length) for (const id of ids) this.slots.get(id)!.broken = err;
        else await this.noteBrokenModule(module, err, now);
      }
    }
  }

  private async noteBrokenModule(module: string, err: unknown, now: number): Promise<void> {
    const failures = (this.brokenModules.get(module) ?? 0) + 1;
    this.brokenModules.set(module, failures);
    this.log(`module ${module} does not load: ${describeError(err).message}`);
    await this.store.noteEvaluation(`module:${module}`, { at: now, error: describeError(err), backoffUntil: now + backoffMs(failures) });
  }

  private async refreshStates(now: number, takeCursors: boolean): Promise<void> {
    if (!takeCursors && now - this.last.states < 2 * this.o.renewMs) return;
    this.last.states = now;
    const states = new Map<string, TriggerState>((await this.store.listTriggerStates()).map((s) => [s.trigger, s]));
    for (const slot of this.slots.values()) {
      const s = states.get(slot.trigger.id);
      if (slot.paused && !s?.paused) slot.dueAt = 0;
      slot.paused = s?.paused ?? false;
      if (takeCursors) {
        slot.cursor = s?.cursor;
        slot.failures = s?.failures ?? 0;
        slot.backoffUntil = s?.backoffUntil ?? 0;
        slot.dueAt = 0;
      }
    }
  }

  private async evaluateDue(): Promise<void> {
    for (const slot of this.slots.values()) {
      if (this.stopping || !this.lease.leading) return;
      const now = Date.now();
      if (slot.dueAt > now || slot.backoffUntil > now) {
        // Not due (a schedule's next slot is far): still say the daemon looked at it, now and then.
        if (slot.backoffUntil <= now && now - slot.notedAt >= this.o.triggerHeartbeatMs) await this.noteLooked(slot, now);
        continue;
      }
      if (slot.paused && slot.trigger.kind !== "schedule") continue;
      if (slot.broken !== undefined) {
        await this.fail(slot, slot.broken, now);
        continue;
      }
      try {
        await this.evaluate(slot, now);
      } catch (err) {
        await this.fail(slot, err, now);
      }
    }
  }

  private async evaluate(slot: TriggerSlot, now: number): Promise<void> {
    const { trigger } = slot;
    const activeRuns = [...this.active.values()].filter((r) => r.trigger === trigger.id);
    const result = evaluateSafely(trigger, { now, cursor: slot.cursor, activeRuns });
    // Only an evaluation still pending needs a timer (most cheap sensors settle at once).
    const ev = await withTimeout(result, this.o.evaluationTimeoutMs, trigger.id);
    const out = await recordEvaluation(this.store, trigger, ev, { now: Date.now(), paused: slot.paused, cursorBefore: slot.cursor });
    if ("cursor" in ev) slot.cursor = ev.cursor;
    const recorded = out.requested + out.skipped;
    this.stats.ticks += recorded;
    this.stats.deduplicated += out.deduplicated;
    this.stats.tickLagsMs.push(...out.lagsMs);
    for (const q of out.queued) this.dueAt.set(q.runId, q.scheduledAt);
    if (out.deduplicated) this.log(`${trigger.id}: ${out.deduplicated} tick(s) already recorded, not repeated`);
    // recordTick notes the evaluation time; otherwise heartbeat now and then, and clear a failure streak.
    if (slot.failures > 0 || (!recorded && !out.cursorStored && now - slot.notedAt >= this.o.triggerHeartbeatMs)) {
      await this.store.noteEvaluation(trigger.id, { at: now });
      slot.notedAt = now;
    } else if (recorded || out.cursorStored) slot.notedAt = now;
    slot.failures = 0;
    slot.backoffUntil = 0;
    if (recorded) crashPoint("tick-done");
    // Without a due time of its own (a polling sensor), a trigger is evaluated once per interval.
    slot.dueAt = ev.nextEvaluationAt ?? now + this.o.intervalMs;
  }

  private async noteLooked(slot: TriggerSlot, now: number): Promise<void> {
    slot.notedAt = now;
    try {
      await this.store.noteEvaluation(slot.trigger.id, { at: now });
    } catch (err) {
      this.log(`${slot.trigger.id}: could not note its heartbeat: ${describeError(err).message}`);
    }
  }

  private async fail(slot: TriggerSlot, err: unknown, now: number): Promise<void> {
    slot.failures++;
    this.stats.failedEvaluations++;
    slot.backoffUntil = now + backoffMs(slot.failures);
    this.log(`${slot.trigger.id}: evaluation failed (${slot.failures} in a row): ${describeError(err).message}`);
    try {
      slot.backoffUntil = (await recordFailure(this.store, slot.trigger, err, { now, failures: slot.failures })).backoffUntil;
    } catch (storeErr) {
      this.log(`${slot.trigger.id}: could not record the failure: ${describeError(storeErr).message}`);
    }
  }

  private labelOf(triggerId: string): string {
    const t = this.slots.get(triggerId)?.trigger;
    return t ? `${t.kind}:${t.name}` : triggerId;
  }

  private activeFor(pipeline: string): number {
    let n = this.launcher.activeFor(pipeline);
    for (const o of this.liveOrphans.values()) if (o.pipeline === pipeline) n++;
    return n;
  }

  private async launchQueued(loopStart: number): Promise<void> {
    const queued = await this.store.listQueuedRuns({ status: "queued" });
    const active = new Map<string, ActiveRun & { trigger: string; pipeline: string }>();
    for (const r of queued) active.set(r.runId, { runId: r.runId, status: "queued", tickKey: r.tickKey, trigger: r.trigger, pipeline: r.pipeline });
    for (const [runId, o] of this.liveOrphans) active.set(runId, { runId, status: "running", ...o });
    for (const r of queued) {
      if (this.stopping || !this.lease.leading) break;
      if (this.launcher.activeCount + this.liveOrphans.size >= this.o.maxConcurrentRuns) break;
      const limit = this.o.pipelineLimits?.[r.pipeline];
      if (limit !== undefined && this.activeFor(r.pipeline) >= limit) continue;
      if (!(await this.store.markLaunched(r.runId, this.holder, Date.now()))) continue;
      const child = this.launcher.launch(r, this.labelOf(r.trigger));
      crashPoint("run-launched");
      this.noteLaunch(child, Math.max(loopStart, r.createdAt), r.trigger);
      active.set(r.runId, { runId: r.runId, status: "running", tickKey: r.tickKey, trigger: r.trigger, pipeline: r.pipeline });
    }
    for (const c of this.launcher.list()) if (!active.has(c.runId)) active.set(c.runId, { runId: c.runId, status: "running", tickKey: "", trigger: c.trigger, pipeline: c.pipeline });
    this.active = active;
  }

  private noteLaunch(child: RunChild, pickedUpAt: number, trigger: string): void {
    const overhead = child.spawnedAt - pickedUpAt;
    const due = this.dueAt.get(child.runId);
    this.dueAt.delete(child.runId);
    this.stats.launches++;
    this.stats.launchOverheadMs.push(overhead);
    const sinceDue = due === undefined ? "" : `, ${child.spawnedAt - due} ms after its tick was due`;
    this.log(`launched ${child.mode} ${child.runId} for ${trigger} (pid ${child.pid ?? "?"}, ${overhead} ms after pick-up${sinceDue})`);
  }

  private async recoverOrphans(now: number): Promise<void> {
    if (now - this.last.orphans < this.o.orphanScanMs) return;
    this.last.orphans = now;
    const actions = await this.orphans.scan({ now, launchGraceMs: this.o.launchGraceMs, watching: (id) => this.launcher.has(id), maxAttempts: 3 });
    const alive = new Map<string, { trigger: string; pipeline: string; tickKey: string }>();
    for (const a of actions) {
      if (this.stopping || !this.lease.leading) break;
      const { row } = a;
      if (a.kind === "alive") {
        alive.set(row.runId, { trigger: row.trigger, pipeline: row.pipeline, tickKey: row.tickKey });
        continue;
      }
      // Fenced: only the daemon that moves the row from its last launcher relaunches or resumes it.
      if (!(await this.store.markLaunched(row.runId, this.holder, Date.now(), row.launchedBy))) continue;
      const child = a.kind === "relaunch" ? this.launcher.launch(row, this.labelOf(row.trigger)) : this.launcher.resume(row);
      this.log(`${a.kind === "relaunch" ? "relaunched" : "resumed"} orphaned run ${row.runId} (launched by ${describeHolder(row.launchedBy ?? "?")})`);
      this.noteLaunch(child, now, row.trigger);
    }
    for (const id of this.orphans.abandoned) {
      if (this.reportedAbandoned.has(id)) continue;
      this.reportedAbandoned.add(id);
      this.log(`gave up recovering run ${id} after 3 attempts; \`trainyard resume ${id}\` by hand`);
    }
    this.liveOrphans = alive;
  }

  private async onRunExit(child: RunChild, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.wake?.();
    try {
      const found = await this.ty.metadata.getRun(child.runId);
      const run = found?.id === child.runId ? found : undefined;
      this.log(`${child.mode} ${child.runId} exited (${signal ?? `code ${code}`}): ${run?.status ?? "no run recorded"}`);
      if (!run || run.status === "running") return; // the orphan scan relaunches or resumes it
      this.orphans.markFinished(child.runId);
      if (run.status === "failed" || run.status === "rejected") {
        const what = run.status === "failed" ? `failed: ${run.error?.message ?? "see its log"}` : "was rejected by a gate";
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
      this.log(`reading run ${child.runId} after it exited failed: ${describeError(err).message}`);
    }
  }

  private async watchPromotions(): Promise<void> {
    for (const e of await this.promotions.poll()) {
      const text = `Trainyard: ${e.model}@${e.alias} now points at version ${e.toVersion}${e.fromVersion ? ` (was ${e.fromVersion})` : ""}, by ${e.actor}${e.forced ? " (forced)" : ""}${e.reason ? `: ${e.reason}` : ""}`;
      this.notifier.notify({ type: "model.promoted", at: e.at, text, model: e.model, alias: e.alias, version: e.toVersion });
    }
  }

  private nextWakeAt(now: number): number {
    let at = now + this.o.intervalMs;
    if (!this.lease.leading) return Math.min(at, this.last.renew + this.o.renewMs);
    at = Math.min(at, this.last.renew + this.o.renewMs);
    for (const s of this.slots.values()) {
      const due = Math.max(s.dueAt, s.backoffUntil);
      if (due < at) at = due;
    }
    return at;
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
    if (this.launcher.activeCount) this.log(`draining: waiting up to ${this.o.drainTimeoutMs} ms for ${this.launcher.activeCount} run(s)`);
    while (this.launcher.activeCount && Date.now() < deadline) {
      await this.launcher.drain(Math.min(this.o.renewMs, deadline - Date.now()));
      await this.step("heartbeat", () => this.heartbeat(Date.now()));
    }
    for (const c of this.launcher.list()) this.log(`left run ${c.runId} running (pid ${c.pid}); \`trainyard resume ${c.runId}\` continues it if it stops`);
    await this.notifier.flush();
    await this.step("release the lease", () => this.lease.release());
    this.log("daemon stopped");
  }
}

/** User code's error, wrapped at this one boundary with the trigger it came from. */
async function evaluateSafely(trigger: DaemonTrigger, ctx: Parameters<DaemonTrigger["evaluate"]>[0]) {
  try {
    return await trigger.evaluate(ctx);
  } catch (err) {
    if (isTrainyardError(err)) throw err;
    throw new TrainyardError("TRIGGER_FAILED", `trigger ${trigger.id} threw: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
      trigger: trigger.id,
      file: trigger.modulePath,
      hint: "fix the trigger's code; the daemon retries it with backoff (see `trainyard triggers history`)",
    });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, id: string): Promise<T> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return Promise.resolve().then(() => (settled ? p : raceTimeout(p, ms, id)));
}

function raceTimeout<T>(p: Promise<T>, ms: number, id: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TrainyardError("TRIGGER_FAILED", `trigger ${id} took longer than ${ms} ms to evaluate`, { hint: "make its evaluation cheaper, or give it a longer timeout" })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Declared triggers, plus plain trigger objects a module exports as `triggers` (second-granularity test schedules). */
async function loadAllTriggers(ty: Trainyard, modulePath: string): Promise<DaemonTrigger[]> {
  return [...(await loadDeclaredTriggers(ty, modulePath)), ...(await loadModuleTriggers(ty, modulePath))];
}
