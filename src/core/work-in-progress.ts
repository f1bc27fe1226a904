/**
 * When the runs and steps under way in this process began, so that what they may still read is kept:
 * the object cache evicts only entries last used before the oldest of them started
 * (local-object-cache.ts). A run counts from its start (a step's inputs are fetched before it waits for
 * a slot), a worker's step from its pickup. Apart from the executors because both mark work here.
 */
const started = new Map<number, number>();
let next = 0;

/** Marks a step's work as begun now; the function returned marks it ended. */
export function beginWork(): () => void {
  const id = next++;
  started.set(id, Date.now());
  return () => {
    started.delete(id);
  };
}

/** When the oldest work still under way began (ms since the epoch), or undefined when none is. */
export function oldestWorkStart(): number | undefined {
  let oldest: number | undefined;
  for (const at of started.values()) if (oldest === undefined || at < oldest) oldest = at;
  return oldest;
}
