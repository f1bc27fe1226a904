/**
 * The daemon's triggers and when each is next due: loading them from pipeline modules (a module
 * that stops compiling fails its triggers one by one), reading pause state and cursors from the
 * ledger, evaluating the due ones and recording what they decide, with backoff on failure.
 */
import { crashPoint } from "../core/crash-point.js";
import { describeError } from "../core/errors.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { TickStore, TriggerState } from "../store/tick-store.js";
import type { DaemonStats, ResolvedDaemonOptions } from "./daemon-options.js";
import type { ActiveRun, DaemonTrigger } from "./daemon-trigger.js";
import { loadDeclaredTriggers } from "./declared-triggers.js";
import { evaluateGuarded } from "./guarded-evaluation.js";
import { cancelActiveRuns } from "./run-cancel.js";
import { backoffMs, recordEvaluation, recordFailure } from "./tick-recorder.js";

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

export interface TriggerSlotHooks {
  /** The trigger's runs that have not finished, for overlap decisions. */
  activeRunsOf(triggerId: string): ActiveRun[];
  /** A new tick queued this run; `scheduledAt` is when the tick was due. */
  onQueued(runId: string, scheduledAt: number): void;
  /** False once the daemon stops or loses the lease: evaluation ends early. */
  canGoOn(): boolean;
  /** Wakes the daemon's loop (a trigger asked to be evaluated early). */
  wake(): void;
}

export class TriggerSlots {
  private readonly slots = new Map<string, TriggerSlot>();
  private readonly moduleIds = new Map<string, string[]>();
  private readonly brokenModules = new Map<string, number>();
  private last = { states: -Infinity, reload: -Infinity };

  constructor(
    private readonly ty: Trainyard,
    private readonly store: TickStore,
    private readonly o: ResolvedDaemonOptions,
    private readonly stats: DaemonStats,
    private readonly hooks: TriggerSlotHooks,
  ) {
    for (const t of o.triggers ?? []) this.add(t, undefined);
  }

  /** A new leader reloads modules and reads every cursor again. */
  async takeOver(now: number): Promise<void> {
    this.last = { states: -Infinity, reload: -Infinity };
    await this.reloadModules(now);
    await this.refreshStates(now, true);
  }

  /** `kind:name` of a trigger, as runs record what started them. */
  labelOf(triggerId: string): string {
    const t = this.slots.get(triggerId)?.trigger;
    return t ? `${t.kind}:${t.name}` : triggerId;
  }

  /** The earliest due time (or end of backoff) of any trigger, capped by `at`. */
  nextDueAt(at: number): number {
    for (const s of this.slots.values()) {
      const due = Math.max(s.dueAt, s.backoffUntil);
      if (due < at) at = due;
    }
    return at;
  }

  private add(trigger: DaemonTrigger, module: string | undefined): void {
    const slot = this.slots.get(trigger.id);
    if (slot) {
      if (slot.trigger !== trigger) Object.assign(slot, { trigger, dueAt: 0 });
      slot.broken = undefined;
      return;
    }
    this.slots.set(trigger.id, {
      trigger,
      module,
      dueAt: 0,
      paused: false,
      failures: 0,
      backoffUntil: 0,
      cursor: undefined,
      notedAt: 0,
    });
    trigger.wake?.(() => {
      const s = this.slots.get(trigger.id);
      if (s) s.dueAt = 0;
      this.hooks.wake();
    });
  }

  async reloadModules(now: number): Promise<void> {
    if (now - this.last.reload < this.o.reloadMs) return;
    this.last.reload = now;
    const load = this.o.loadTriggers ?? loadDeclaredTriggers;
    for (const module of this.o.modules ?? []) {
      try {
        const triggers = await load(this.ty, module);
        const ids = triggers.map((t) => t.id);
        for (const old of this.moduleIds.get(module) ?? []) if (!ids.includes(old)) this.slots.delete(old);
        for (const t of triggers) this.add(t, module);
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
    this.o.log(`module ${module} does not load: ${describeError(err).message}`);
    const note = { at: now, error: describeError(err), backoffUntil: now + backoffMs(failures) };
    await this.store.noteEvaluation(`module:${module}`, note);
  }

  /** Pause state every few heartbeats; cursors and failure streaks only when taking over. */
  async refreshStates(now: number, takeCursors: boolean): Promise<void> {
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

  async evaluateDue(): Promise<void> {
    for (const slot of this.slots.values()) {
      if (!this.hooks.canGoOn()) return;
      const now = Date.now();
      if (slot.dueAt > now || slot.backoffUntil > now) {
        // Not due (a schedule's next slot is far): still say the daemon looked at it, now and then.
        if (slot.backoffUntil <= now && now - slot.notedAt >= this.o.triggerHeartbeatMs)
          await this.noteLooked(slot, now);
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
    const activeRuns = this.hooks.activeRunsOf(trigger.id);
    const ev = await evaluateGuarded(trigger, { now, cursor: slot.cursor, activeRuns }, this.o.evaluationTimeoutMs);
    const out = await recordEvaluation(this.store, trigger, ev, {
      now: Date.now(),
      paused: slot.paused,
      cursorBefore: slot.cursor,
    });
    if ("cursor" in ev) slot.cursor = ev.cursor;
    // Cancelled only once the replacing tick is in the ledger; cancelling again after a crash is harmless.
    for (const t of ev.ticks) {
      if (!t.cancelRuns?.length) continue;
      const reason = `replaced by tick ${t.key} (overlap "cancel-running")`;
      const done = await cancelActiveRuns(this.store, this.ty.metadata, t.cancelRuns, reason);
      this.o.log(
        `${trigger.id}: tick ${t.key} cancelled ${done.signalled} running and ${done.withdrawn} queued run(s)`,
      );
    }
    const recorded = out.requested + out.skipped;
    this.stats.ticks += recorded;
    this.stats.deduplicated += out.deduplicated;
    this.stats.tickLagsMs.push(...out.lagsMs);
    for (const q of out.queued) this.hooks.onQueued(q.runId, q.scheduledAt);
    if (out.deduplicated) this.o.log(`${trigger.id}: ${out.deduplicated} tick(s) already recorded, not repeated`);
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
      this.o.log(`${slot.trigger.id}: could not note its heartbeat: ${describeError(err).message}`);
    }
  }

  private async fail(slot: TriggerSlot, err: unknown, now: number): Promise<void> {
    slot.failures++;
    this.stats.failedEvaluations++;
    slot.backoffUntil = now + backoffMs(slot.failures);
    this.o.log(`${slot.trigger.id}: evaluation failed (${slot.failures} in a row): ${describeError(err).message}`);
    try {
      slot.backoffUntil = (
        await recordFailure(this.store, slot.trigger, err, { now, failures: slot.failures })
      ).backoffUntil;
    } catch (storeErr) {
      this.o.log(`${slot.trigger.id}: could not record the failure: ${describeError(storeErr).message}`);
    }
  }
}
