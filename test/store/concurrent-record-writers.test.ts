/**
 * Several processes writing run records into one metadata database at once (each store here has
 * its own connection, as a process would): a writer waiting for its artifacts to be synced holds
 * no lock, and writers whose batches share artifacts in any order neither block each other for
 * long nor deadlock. On SQLite (one file) and on a real PostgreSQL server on loopback.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordWriter } from "../../src/engine/record-writer.js";
import type { MetadataStore, StepRunCompletion } from "../../src/store/metadata-store.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { artifactRecord, fakeDigest, stepRunRecord } from "./metadata-conformance.js";

/** Completion of `runId:stepId` that produced `digests` (listed in the given order) and read the first. */
function completion(runId: string, stepId: string, digests: string[]): StepRunCompletion {
  const stepRun = stepRunRecord(runId, stepId, { status: "succeeded", outputDigest: digests[0], finishedAt: 2 });
  const edge = (digest: string, direction: "in" | "out") => ({
    stepRunId: stepRun.id,
    runId,
    stepId,
    digest,
    direction,
    name: direction === "in" ? "input" : "output",
    reused: false,
  });
  return {
    stepRun,
    artifacts: digests.map((d) => ({ record: artifactRecord(d, { meta: { by: stepRun.id } }) })),
    lineage: [edge(digests[0], "in"), ...digests.map((d) => edge(d, "out"))],
  };
}

/** A deterministic shuffle (seeded), so every writer lists the shared artifacts in its own order. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** `open(db)` opens another connection to database `db` (a file, a schema): each test has its own. */
function writerSuite(label: string, open: (db: string) => Promise<MetadataStore>): void {
  describe(`concurrent record writers on ${label}`, () => {
    it("a writer waiting for its artifacts' sync holds no lock: another writer commits meanwhile", async () => {
      const [a, b] = [await open("sync"), await open("sync")];
      try {
        let release!: () => void;
        const synced = new Promise<void>((resolve) => (release = resolve));
        const slow = new RecordWriter(a, () => synced);
        const first = completion("run-a", "train", [fakeDigest("a1")]);
        slow.complete(first);
        const flushed = slow.flush();
        await new Promise((r) => setTimeout(r, 50));

        const other = new RecordWriter(b, async () => undefined);
        const second = completion("run-b", "train", [fakeDigest("b1"), fakeDigest("a1")]);
        other.complete(second);
        await other.flush();
        expect((await a.getStepRun(second.stepRun.id))?.status).toBe("succeeded");
        // The waiting writer's records are not written before its artifacts are durable.
        expect(await b.getStepRun(first.stepRun.id)).toBeUndefined();

        release();
        await flushed;
        expect((await b.getStepRun(first.stepRun.id))?.status).toBe("succeeded");
        expect((await b.lineageOfStepRun(first.stepRun.id)).map((e) => e.digest)).toEqual([
          fakeDigest("a1"),
          fakeDigest("a1"),
        ]);
      } finally {
        await a.close();
        await b.close();
      }
    }, 30_000);

    it("writers whose batches share artifacts in different orders all commit, without a deadlock", async () => {
      const writers = 4;
      const rounds = 12;
      const stores = await Promise.all(Array.from({ length: writers }, () => open("orders")));
      const shared = Array.from({ length: 24 }, (_, i) => fakeDigest(`shared-${i}`));
      try {
        await Promise.all(
          stores.map(async (store, w) => {
            for (let r = 0; r < rounds; r++) {
              const batch = [0, 1].map((k) =>
                completion(`run-${w}`, `s${r}-${k}`, shuffled(shared, w * 97 + r * 7 + k)),
              );
              await store.writeBatch({ stepRuns: [], attempts: [], logs: [], completions: batch });
            }
          }),
        );
        const reader = stores[0];
        for (let w = 0; w < writers; w++) {
          for (let r = 0; r < rounds; r++) {
            const id = `run-${w}:s${r}-1`;
            expect((await reader.getStepRun(id))?.status, id).toBe("succeeded");
            expect(await reader.lineageOfStepRun(id)).toHaveLength(shared.length + 1);
          }
        }
        const stored = new Set((await reader.listArtifacts()).map((a) => a.digest));
        for (const d of shared) expect(stored.has(d)).toBe(true);
        const produced = (await reader.lineageOf(shared[0])).filter((e) => e.direction === "out");
        expect(produced).toHaveLength(writers * rounds * 2);
      } finally {
        for (const s of stores) await s.close();
      }
    }, 60_000);
  });
}

describe("SQLite", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-writers-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  writerSuite("SQLite", async (db) => new SqliteMetadataStore(path.join(dir, `${db}.db`)));
});

const postgres = requireTools("postgresql");
postgres.describe("PostgreSQL", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  writerSuite("PostgreSQL", (db) => PostgresMetadataStore.open({ url: server.url, schema: db }));
});
