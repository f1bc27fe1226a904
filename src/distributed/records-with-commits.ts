/**
 * Where a worker's run records go: a batch taken while pickups wait to commit carries their fence
 * commits, in one statement where the fence store can (PostgreSQL), else written right before them.
 * Either way a result is committed only with or after the attempts, logs and inline outputs it names.
 */
import type { RecordSink } from "../engine/record-writer.js";
import type { RecordBatch } from "../store/metadata-store.js";
import type { FenceCommit, TaskFenceStore } from "../store/task-fence.js";

/** A pickup's commit handed to RecordWriter.ride; `landed` is set once the batch carrying it was written. */
export interface CommitRider {
  commit: FenceCommit;
  /** Whether the fence took the result; unset when the batch or the commit failed. */
  landed?: boolean;
}

export class RecordsWithCommits implements RecordSink {
  constructor(
    private readonly metadata: RecordSink,
    private readonly fences: () => TaskFenceStore,
  ) {}

  async writeBatch(batch: RecordBatch, riders: object[] = []): Promise<void> {
    const waiting = riders as CommitRider[];
    if (!waiting.length) return this.metadata.writeBatch(batch);
    const fences = this.fences();
    const commits = waiting.map((r) => r.commit);
    let landed: boolean[];
    if (fences.commitManyWithRecords) landed = await fences.commitManyWithRecords(commits, batch, Date.now());
    else {
      await this.metadata.writeBatch(batch);
      // The records stand; a failed commit leaves the riders unset, and each pickup commits on its own.
      const outcome = await fences.commitMany(commits, Date.now()).catch(() => undefined);
      if (!outcome) return;
      landed = outcome;
    }
    waiting.forEach((rider, i) => {
      rider.landed = landed[i];
    });
  }
}
