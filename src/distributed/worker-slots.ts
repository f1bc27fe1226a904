/**
 * How many step slots the workers taking a queue's tasks have: each worker's name on the queue
 * carries its slot count, and the queue lists its workers' names (Redis CLIENT LIST, or the
 * PostgreSQL backend's named connections). The queue executor sizes task batches by it.
 */
import type { StepQueue } from "./queue-backend.js";

/** Slot counts are listed again after this long: workers come and go. */
const REFRESH_MS = 5000;

/** A worker's name on its queues: its label and its slots, e.g. `host/w-1a2b~4`. */
export function queueWorkerName(label: string, slots: number): string {
  return `${label}~${slots}`;
}

/**
 * A listed worker's label and slots, from its connection's name `<prefix>:<queue>:w:<label>~<slots>`
 * (the prefix allows no ':', nor does a queue name the executor opens); 0 slots for a name without them.
 */
export function parseQueueWorkerName(rawname: string): { label: string; slots: number } {
  const at = rawname.indexOf(":w:");
  const named = at >= 0 ? rawname.slice(at + 3) : rawname;
  const m = /^(.*)~(\d+)$/.exec(named);
  return m ? { label: m[1], slots: Number(m[2]) } : { label: named, slots: 0 };
}

/** The slots of the workers listed (0: none, or a backend that cannot list them). */
export function slotsOfWorkers(workers: Array<{ rawname?: string }>): number {
  return workers.reduce((slots, w) => slots + parseQueueWorkerName(w.rawname ?? "").slots, 0);
}

/** Per queue, the slots of its workers as last listed (at most REFRESH_MS ago). */
export class WorkerSlots {
  private readonly known = new Map<string, { slots: number; at: number }>();

  /** The slots on `queue` now; 0 when none are listed or listing fails. */
  async on(name: string, queue: StepQueue): Promise<number> {
    const cached = this.known.get(name);
    if (cached && Date.now() - cached.at < REFRESH_MS) return cached.slots;
    const slots = await queue.getWorkers().then(
      (workers: Array<{ rawname?: string }>) => slotsOfWorkers(workers),
      () => 0,
    );
    this.known.set(name, { slots, at: Date.now() });
    return slots;
  }
}
