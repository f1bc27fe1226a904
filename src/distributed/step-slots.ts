/**
 * A worker's step slots: how many steps do their own work at once (`--concurrency`). The worker
 * takes more tasks from the queue than that while its steps are short, so that one task's
 * hand-over (claim, inputs, storing, commit) overlaps the next one's work; the extra tasks wait
 * here, under the queue's lock and the fence's heartbeat, for a slot.
 */

/** A step whose own work ended within this is short: the worker takes hand-over tasks beside its slots. */
const SHORT_STEP_MS = 250;
/** Tasks taken from the queue per slot while steps are short. */
const TASKS_PER_SLOT = 4;

export class StepSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  /** Whether the last step to end was short (see SHORT_STEP_MS). */
  private short = false;

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Tasks the worker may hold from the queue now: only its slots after a long step, else more. */
  get tasksToTake(): number {
    return this.short ? this.size * TASKS_PER_SLOT : this.size;
  }

  /** Resolves with a slot's release, to call once when the step's own work is done. */
  async acquire(): Promise<(workMs: number) => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    return (workMs) => {
      if (!held) return;
      held = false;
      this.short = workMs < SHORT_STEP_MS;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
