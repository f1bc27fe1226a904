/**
 * What gc keeps for runs that live anywhere, read from the metadata every machine shares rather
 * than from this machine's pending journal: each kept run's recorded pipeline bundle, the inputs
 * and bundles of tasks still open in the task fence (queued or held by a worker), and every
 * object that entered the store since the oldest run in flight started, since such a run's
 * outputs are uploaded before the records naming them commit.
 */
import type { RunRecord } from "../store/metadata-records.js";
import type { MetadataStore } from "../store/metadata-store.js";
import { taskFenceFor } from "../store/task-fence-for.js";
import { decodeStepTask } from "./step-task.js";

/** Allowance for the object store's clock (and its whole-second times) against this machine's. */
export const IN_FLIGHT_CLOCK_SLACK_MS = 60_000;

export interface InFlightReferences {
  /** Digests that runs still kept or in flight refer to outside their committed records. */
  digests: Set<string>;
  /** Objects that entered the store at or after this time (ms) may belong to a run in flight. */
  enteredSince?: number;
  /** Runs in flight (queued or running) on any machine. */
  runsInFlight: number;
}

export async function inFlightReferences(metadata: MetadataStore, kept: RunRecord[]): Promise<InFlightReferences> {
  const digests = new Set<string>();
  for (const run of kept) if (run.bundleDigest) digests.add(run.bundleDigest);
  const inFlight = kept.filter((r) => r.status === "running" || r.status === "queued");
  // Interrupted runs too: `resume` reattaches to their queued and running tasks.
  const open = kept.filter((r) => inFlight.includes(r) || r.status === "interrupted");
  if (open.length) for (const d of await openTaskDigests(metadata, open)) digests.add(d);
  const starts = inFlight.map((r) => r.startedAt ?? r.createdAt);
  const enteredSince = starts.length ? Math.min(...starts) - IN_FLIGHT_CLOCK_SLACK_MS : undefined;
  return { digests, enteredSince, runsInFlight: inFlight.length };
}

/** Bundles and inputs of the tasks of `runs` not yet committed in the task fence. */
async function openTaskDigests(metadata: MetadataStore, runs: RunRecord[]): Promise<string[]> {
  // A metadata backend without a task fence has never handed a task to a queue.
  const fences = await taskFenceFor(metadata).catch(() => undefined);
  if (!fences) return [];
  const out: string[] = [];
  try {
    for (const run of runs) {
      for (const fence of await fences.listRun(run.id)) {
        if (fence.state === "committed") continue;
        const task = decodeStepTask(fence.task);
        if (task.bundleDigest) out.push(task.bundleDigest);
        if (task.over) out.push(task.over.digest);
        for (const ref of Object.values(task.inputs)) out.push(ref.digest);
        out.push(...Object.values(task.inputDigests));
      }
    }
  } finally {
    await fences.close();
  }
  return out;
}
