import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RecordWriter } from "../../src/engine/record-writer.js";
import type { RecordBatch, StepRunRecord } from "../../src/store/metadata-store.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";

let dir: string;
let store: SqliteMetadataStore;
let commits: RecordBatch[];
let syncs: number;
let writer: RecordWriter;

beforeEach(() => {
  vi.useFakeTimers();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-writer-"));
  store = new SqliteMetadataStore(path.join(dir, "metadata.db"));
  commits = [];
  syncs = 0;
  const writeBatch = store.writeBatch.bind(store);
  store.writeBatch = (batch) => {
    commits.push(batch);
    return writeBatch(batch);
  };
  writer = new RecordWriter(store, async () => void syncs++);
});
afterEach(async () => {
  vi.useRealTimers();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function completion(durationMs: number): { stepRun: StepRunRecord; artifacts: []; lineage: [] } {
  const id = `run-1:step-${++n}`;
  return {
    stepRun: {
      id,
      runId: "run-1",
      stepId: `step-${n}`,
      itemIndex: -1,
      status: "succeeded",
      cached: false,
      attempts: 1,
      startedAt: 1,
      finishedAt: 1 + durationMs,
      durationMs,
    },
    artifacts: [],
    lineage: [],
  };
}
const committed = async (id: string) => (await store.getStepRun(id))?.status;

describe("RecordWriter", () => {
  it("commits a lone completion within the short window, after syncing the artifacts it refers to", async () => {
    const c = completion(5);
    writer.complete(c);
    await vi.advanceTimersByTimeAsync(10);
    expect(await committed(c.stepRun.id)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(20);
    expect(await committed(c.stepRun.id)).toBe("succeeded");
    expect(syncs).toBe(1);
  });

  it("batches longer while steps complete in bursts, but not the completion of a costly step", async () => {
    for (let i = 0; i < 10; i++) writer.complete(completion(3));
    await vi.advanceTimersByTimeAsync(30);
    expect(commits).toHaveLength(1);
    expect(commits[0].completions).toHaveLength(10);

    // In a burst, short steps wait for the long window: one commit, one sync for all of them.
    const short = [completion(3), completion(4)];
    for (const c of short) writer.complete(c);
    await vi.advanceTimersByTimeAsync(100);
    expect(await committed(short[0].stepRun.id)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    expect(await committed(short[1].stepRun.id)).toBe("succeeded");
    expect(commits).toHaveLength(2);
    expect(syncs).toBe(2);

    // That commit was not a burst: the next lone completion is committed within the short window.
    const lone = completion(2);
    writer.complete(lone);
    await vi.advanceTimersByTimeAsync(30);
    expect(await committed(lone.stepRun.id)).toBe("succeeded");

    // A burst again, then a step that ran for seconds: committed at once, with what was pending.
    for (let i = 0; i < 10; i++) writer.complete(completion(3));
    await vi.advanceTimersByTimeAsync(30);
    const pending = completion(3);
    writer.complete(pending);
    await vi.advanceTimersByTimeAsync(10);
    const costly = completion(60_000);
    writer.complete(costly);
    await vi.advanceTimersByTimeAsync(30);
    expect(await committed(costly.stepRun.id)).toBe("succeeded");
    expect(await committed(pending.stepRun.id)).toBe("succeeded");
  });

  it(
    "writes a batch only once the sync is done, " + "holding no transaction meanwhile, and never after a failed sync",
    async () => {
      vi.useRealTimers();
      let release!: () => void;
      let fail = false;
      const slow = new RecordWriter(
        store,
        () => new Promise<void>((resolve, reject) => (release = () => (fail ? reject(new Error("EIO")) : resolve()))),
      );
      const reader = new SqliteMetadataStore(path.join(dir, "metadata.db"));
      try {
        const a = completion(5);
        slow.complete(a);
        const flushed = slow.flush();
        await new Promise((r) => setTimeout(r, 20));
        // Nothing written yet, and no lock held: another connection writes while the sync runs.
        expect(commits).toHaveLength(0);
        expect(await reader.getStepRun(a.stepRun.id)).toBeUndefined();
        const other = completion(5);
        await reader.completeStepRuns([other]);
        expect((await store.getStepRun(other.stepRun.id))?.status).toBe("succeeded");
        release();
        await flushed;
        expect((await reader.getStepRun(a.stepRun.id))?.status).toBe("succeeded");

        const b = completion(5);
        slow.complete(b);
        fail = true;
        const failed = slow.flush();
        await new Promise((r) => setTimeout(r, 20));
        release();
        await expect(failed).rejects.toThrow("EIO");
        expect(await reader.getStepRun(b.stepRun.id)).toBeUndefined();
        expect(await store.getStepRun(b.stepRun.id)).toBeUndefined();
      } finally {
        await reader.close();
      }
    },
  );

  it("flush commits everything pending at once and leaves no timer behind", async () => {
    for (let i = 0; i < 10; i++) writer.complete(completion(3));
    await vi.advanceTimersByTimeAsync(30);
    const last = completion(3);
    writer.complete(last);
    await writer.flush();
    expect(await committed(last.stepRun.id)).toBe("succeeded");
    expect(vi.getTimerCount()).toBe(0);
  });
});
