/**
 * How many step slots the workers taking a queue's tasks have: each worker's name on the queue
 * carries its slot count, and the queue lists its workers' names (Redis CLIENT LIST, or the
 * PostgreSQL backend's named connections). The queue executor sizes task batches by it.
 */
import type { StepQueue } from "./queue-backend.js";

/** Slot counts are listed again after this long: workers come and go. */
const REFRESH_MS = 5000;

/**
 * A worker's name on its queues: its slots, then its label, e.g. `4~host/w-1a2b`. The slots come first:
 * PostgreSQL keeps a connection's name to 63 bytes, and a long label must lose its end, not the slot count.
 */
export function queueWorkerName(label: string, slots: number): string {
  return `${slots}~${label}`;
}

/** Bytes PostgreSQL keeps of a connection's name (NAMEDATALEN - 1); a longer name is cut there. */
export const POSTGRES_NAME_BYTES = 63;

export interface ParseWorkerNameOptions {
  /** The store keeps names to this many bytes: a name that long may have lost its end; its label ends in '…'. */
  cutAtBytes?: number;
}

/**
 * A listed worker's label and slots, from its connection's name `<prefix>:<queue>:w:<slots>~<label>`
 * (the prefix allows no ':', nor does a queue name the executor opens); 0 slots for a name without them.
 * A name in the earlier form `<label>~<slots>` (a worker of a previous release) reads the same.
 */
export function parseQueueWorkerName(
  rawname: string,
  opts: ParseWorkerNameOptions = {},
): { label: string; slots: number } {
  const at = rawname.indexOf(":w:");
  const named = at >= 0 ? rawname.slice(at + 3) : rawname;
  const m = /^(\d+)~(.*)$/s.exec(named);
  const legacy = m ? undefined : /^(.*)~(\d+)$/s.exec(named);
  const label = m ? m[2] : legacy ? legacy[1] : named;
  const slots = m ? Number(m[1]) : legacy ? Number(legacy[2]) : 0;
  const cut = opts.cutAtBytes !== undefined && Buffer.byteLength(rawname) >= opts.cutAtBytes;
  return { label: cut ? `${label}…` : label, slots };
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
