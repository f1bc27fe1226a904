/**
 * The metadata store conformance suite: every backend (SQLite now, PostgreSQL later) runs these
 * same tests through `describeMetadataStore(name, factory)`. The suite talks only to the
 * `MetadataStore` interface, never to a driver.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  ArtifactRecord,
  KeyComponents,
  LineageEdge,
  MetadataStore,
  MetricPoint,
  RunLease,
  RunRecord,
  StepRunRecord,
} from "../../src/store/metadata-store.js";

export type MetadataStoreFactory = () => MetadataStore | Promise<MetadataStore>;

const HEX = "0123456789abcdef";
/** A deterministic 64-hex digest derived from a label. */
export function fakeDigest(label: string): string {
  let h = 2166136261;
  let out = "";
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${label}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, 64).replace(/[^0-9a-f]/g, (c) => HEX[c.charCodeAt(0) % 16]);
}

export function runRecord(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    pipeline: "demo",
    modulePath: "/tmp/demo.ts",
    params: { lr: 0.1, n: 3 },
    trigger: "manual",
    status: "running",
    codeVersion: "code-1",
    createdAt: 1_000,
    startedAt: 1_000,
    options: { concurrency: 2 },
    pid: 4242,
    ...overrides,
  };
}

const COMPONENTS: KeyComponents = {
  engine: "1",
  code: "c0de",
  version: "",
  params: { lr: 0.1 },
  inputs: { raw: fakeDigest("raw") },
};

export function stepRunRecord(runId: string, stepId: string, overrides: Partial<StepRunRecord> = {}): StepRunRecord {
  const itemIndex = overrides.itemIndex ?? -1;
  return {
    id: itemIndex < 0 ? `${runId}:${stepId}` : `${runId}:${stepId}[${itemIndex}]`,
    runId,
    stepId,
    itemIndex,
    status: "succeeded",
    cacheKey: `key-${stepId}`,
    components: COMPONENTS,
    cached: false,
    attempts: 1,
    startedAt: 2_000,
    finishedAt: 2_100,
    durationMs: 100,
    ...overrides,
  };
}

export function leaseRecord(runId: string, token: string, overrides: Partial<RunLease> = {}): RunLease {
  const owner = { pid: 4242, host: "build-1", bootId: "boot-a", startTicks: 123_456_789 };
  return { runId, owner, token, acquiredAt: 5_000, heartbeatAt: 5_000, ...overrides };
}

export function artifactRecord(digest: string, overrides: Partial<ArtifactRecord> = {}): ArtifactRecord {
  return { digest, kind: "json", size: 2, meta: {}, createdAt: 3_000, inline: true, ...overrides };
}

function edge(
  stepRunId: string,
  runId: string,
  stepId: string,
  digest: string,
  direction: "in" | "out",
  name: string,
  reused = false,
): LineageEdge {
  return { stepRunId, runId, stepId, digest, direction, name, reused };
}

const bytesOf = (s: string) => new Uint8Array(Buffer.from(s));

export function describeMetadataStore(name: string, factory: MetadataStoreFactory): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let store: MetadataStore;

    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    /** Records a succeeded step run whose output artifact is stored, the way the engine does. */
    async function completeWithOutput(
      runId: string,
      stepId: string,
      output: string,
      overrides: Partial<StepRunRecord> = {},
    ): Promise<StepRunRecord> {
      const sr = stepRunRecord(runId, stepId, { outputDigest: output, ...overrides });
      await store.completeStepRuns([
        {
          stepRun: sr,
          artifacts: [{ record: artifactRecord(output), bytes: bytesOf("42") }],
          lineage: [edge(sr.id, runId, stepId, output, "out", "output")],
        },
      ]);
      return sr;
    }

    describe("runs", () => {
      it("creates a run and reads every field back", async () => {
        const run = runRecord("20250101-000000-aaaaaa", {
          profile: "dev",
          finishedAt: 1_500,
          error: {
            code: "STEP_FAILED",
            name: "TrainyardError",
            message: "boom",
            hint: "fix it",
            fields: { step: "train" },
          },
        });
        await store.upsertPipeline("demo", "/tmp/demo.ts");
        await store.createRun(run);
        expect(await store.getRun(run.id)).toEqual(run);
      });

      it("leaves optional fields undefined rather than null", async () => {
        await store.createRun(runRecord("r-opt", { pid: undefined, startedAt: undefined }));
        const got = await store.getRun("r-opt");
        expect(got).toBeDefined();
        expect(got!.profile).toBeUndefined();
        expect(got!.finishedAt).toBeUndefined();
        expect(got!.error).toBeUndefined();
        expect(got!.pid).toBeUndefined();
      });

      it("finds a run by a unique prefix of its id, and not by an unknown one", async () => {
        await store.createRun(runRecord("20250101-000000-abc111", { createdAt: 1 }));
        await store.createRun(runRecord("20250101-000000-abc222", { createdAt: 2 }));
        await store.createRun(runRecord("20250202-000000-zzz333", { createdAt: 3 }));
        expect((await store.getRun("20250202"))?.id).toBe("20250202-000000-zzz333");
        expect((await store.getRun("20250101-000000-abc2"))?.id).toBe("20250101-000000-abc222");
        expect(await store.getRun("nope")).toBeUndefined();
      });

      it("refuses a prefix of several runs with RUN_AMBIGUOUS: the newest, and what tells each apart", async () => {
        await store.createRun(runRecord("20250101-000000-abc111", { createdAt: 1, pipeline: "train" }));
        await store.createRun(runRecord("20250101-000000-abc222", { createdAt: 2, status: "failed", startedAt: 9 }));
        await store.createRun(runRecord("20250101-000000-abd333", { createdAt: 3 }));
        await store.createRun(runRecord("20250202-000000-zzz444", { createdAt: 4 }));
        const err = await store.getRun("20250101-000000-ab").catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "RUN_AMBIGUOUS", fields: { runId: "20250101-000000-ab", matchCount: 3 } });
        expect((err as { fields: { matches: unknown } }).fields.matches).toEqual([
          {
            id: "20250101-000000-abd333",
            pipeline: "demo",
            status: "running",
            startedAt: 1_000,
            uniquePrefix: "20250101-000000-abd",
          },
          {
            id: "20250101-000000-abc222",
            pipeline: "demo",
            status: "failed",
            startedAt: 9,
            uniquePrefix: "20250101-000000-abc2",
          },
          {
            id: "20250101-000000-abc111",
            pipeline: "train",
            status: "running",
            startedAt: 1_000,
            uniquePrefix: "20250101-000000-abc1",
          },
        ]);
        const { message, hint } = err as { message: string; hint: string };
        expect(message).toContain('run id prefix "20250101-000000-ab" matches 3 runs:');
        expect(message).toMatch(/20250101-000000-abc222 +demo +1970-01-01 00:00:00Z +failed/);
        expect(hint).toContain("20 characters tell the runs listed apart");
        // Each run's listed prefix finds it alone.
        for (const m of (err as { fields: { matches: Array<{ id: string; uniquePrefix: string }> } }).fields.matches) {
          expect((await store.getRun(m.uniquePrefix))?.id).toBe(m.id);
        }
      });

      it("lists only the newest matches of a short prefix, and counts them all", async () => {
        for (let i = 0; i < 8; i++) await store.createRun(runRecord(`2025-run-${i}`, { createdAt: 10 + i }));
        const err = await store.getRun("2025").catch((e: unknown) => e);
        const fields = (err as { fields: { matchCount: number; matches: Array<{ id: string }> } }).fields;
        expect(fields.matchCount).toBe(8);
        expect(fields.matches.map((m) => m.id)).toEqual([7, 6, 5, 4, 3].map((i) => `2025-run-${i}`));
        expect((err as Error).message).toContain("... and 3 more");
      });

      it("finds an exact id even when it is also a prefix of longer ids", async () => {
        await store.createRun(runRecord("20250101-a", { createdAt: 1 }));
        await store.createRun(runRecord("20250101-ab", { createdAt: 2 }));
        await store.createRun(runRecord("20250101-abc", { createdAt: 3 }));
        expect((await store.getRun("20250101-a"))?.id).toBe("20250101-a");
        expect((await store.getRun("20250101-ab"))?.id).toBe("20250101-ab");
        const err = await store.getRun("20250101-").catch((e: unknown) => e);
        const matches = (err as { fields: { matches: Array<{ id: string; uniquePrefix: string }> } }).fields.matches;
        // The shorter ids are told apart only by being typed whole.
        expect(matches.map((m) => m.uniquePrefix)).toEqual(["20250101-abc", "20250101-ab", "20250101-a"]);
      });

      it("matches a run id prefix literally: LIKE wildcards and escapes in it are plain characters", async () => {
        await store.createRun(runRecord("20250101-000000-abc111", { createdAt: 1 }));
        for (const prefix of ["%", "_", "2025010_", "%abc111", "2025\\", "\\%"]) {
          expect(await store.getRun(prefix), prefix).toBeUndefined();
        }
        await store.createRun(runRecord("odd_id%x", { createdAt: 2 }));
        await store.createRun(runRecord("oddAidBx", { createdAt: 3 }));
        expect((await store.getRun("odd_"))?.id).toBe("odd_id%x");
        // Case counts, on every backend.
        expect(await store.getRun("ODD_")).toBeUndefined();
        expect((await store.getRun("oddA"))?.id).toBe("oddAidBx");
        expect(await store.getRun("odda")).toBeUndefined();
        expect((await store.getRun("odd_id%"))?.id).toBe("odd_id%x");
      });

      it("updates only the fields of a patch", async () => {
        await store.createRun(runRecord("r1"));
        await store.updateRun("r1", {
          status: "failed",
          finishedAt: 9_000,
          error: { code: "X", name: "Error", message: "m" },
        });
        const got = await store.getRun("r1");
        expect(got).toMatchObject({
          status: "failed",
          finishedAt: 9_000,
          pipeline: "demo",
          params: { lr: 0.1, n: 3 },
          codeVersion: "code-1",
          pid: 4242,
        });
        expect(got!.error?.message).toBe("m");
        await store.updateRun("r1", { status: "succeeded" });
        expect((await store.getRun("r1"))!.finishedAt).toBe(9_000);
      });

      it("records the digest of the pipeline bundle a run planned with, set by a later patch", async () => {
        const bundle = `sha256:${"ab".repeat(32)}`;
        await store.createRun(runRecord("r-bundle"));
        expect((await store.getRun("r-bundle"))!.bundleDigest).toBeUndefined();
        await store.updateRun("r-bundle", { bundleDigest: bundle });
        await store.updateRun("r-bundle", { status: "succeeded" });
        expect(await store.getRun("r-bundle")).toMatchObject({ bundleDigest: bundle, status: "succeeded" });
        expect((await store.listRuns({})).find((r) => r.id === "r-bundle")?.bundleDigest).toBe(bundle);
      });

      it("lists runs newest first, filtered by pipeline and status, up to a limit", async () => {
        await store.createRun(runRecord("a", { createdAt: 10, status: "succeeded" }));
        await store.createRun(runRecord("b", { createdAt: 30, status: "failed" }));
        await store.createRun(runRecord("c", { createdAt: 20, status: "succeeded", pipeline: "other" }));
        await store.createRun(runRecord("d", { createdAt: 40, status: "succeeded" }));
        expect((await store.listRuns()).map((r) => r.id)).toEqual(["d", "b", "c", "a"]);
        expect((await store.listRuns({ pipeline: "demo" })).map((r) => r.id)).toEqual(["d", "b", "a"]);
        expect((await store.listRuns({ status: "succeeded" })).map((r) => r.id)).toEqual(["d", "c", "a"]);
        expect((await store.listRuns({ pipeline: "demo", status: "succeeded", limit: 1 })).map((r) => r.id)).toEqual([
          "d",
        ]);
        expect(await store.listRuns({ pipeline: "missing" })).toEqual([]);
      });

      it("lists the pipelines that ran, newest first, with the module each last ran from", async () => {
        await store.upsertPipeline("demo", "/a/demo.ts");
        await new Promise((r) => setTimeout(r, 5));
        await store.upsertPipeline("other", "/a/other.ts");
        await new Promise((r) => setTimeout(r, 5));
        await store.upsertPipeline("demo", "/b/demo.ts");
        const list = await store.listPipelines();
        expect(list.map((p) => [p.name, p.modulePath])).toEqual([
          ["demo", "/b/demo.ts"],
          ["other", "/a/other.ts"],
        ]);
        expect(list[0].updatedAt).toBeGreaterThanOrEqual(list[1].updatedAt);
      });

      it("reads the top-level step states of many runs at once, without map items", async () => {
        await store.createRun(runRecord("a"));
        await store.createRun(runRecord("b"));
        await store.saveStepRuns([
          stepRunRecord("a", "load"),
          stepRunRecord("a", "fit", { status: "failed", attempts: 2, cached: false }),
          stepRunRecord("b", "load", { cached: true, durationMs: undefined }),
          stepRunRecord("b", "each", { itemIndex: 0 }),
        ]);
        const states = await store.listStepStates!(["a", "b", "missing"]);
        const rows = states.map((s) => [s.runId, s.stepId, s.status, s.cached, s.attempts, s.durationMs]);
        expect(rows.sort()).toEqual([
          ["a", "fit", "failed", false, 2, 100],
          ["a", "load", "succeeded", false, 1, 100],
          ["b", "load", "succeeded", true, 1, undefined],
        ]);
        expect(await store.listStepStates!([])).toEqual([]);
      });
    });

    describe("run leases", () => {
      it("grants a run's lease to one claimant and tells the others who holds it", async () => {
        const mine = leaseRecord("r1", "t-mine");
        expect(await store.claimRunLease(mine)).toEqual(mine);
        expect(await store.getRunLease("r1")).toEqual(mine);
        // A claim that did not see the current holder, or names another token, takes nothing.
        const owner = { ...mine.owner, pid: 7 };
        const other = leaseRecord("r1", "t-other", { owner, acquiredAt: 6_000, heartbeatAt: 6_000 });
        expect(await store.claimRunLease(other)).toEqual(mine);
        expect(await store.claimRunLease(other, "t-stale")).toEqual(mine);
        expect(await store.getRunLease("r2")).toBeUndefined();
      });

      it("lets a claimant replace the holder it found dead, once", async () => {
        await store.claimRunLease(leaseRecord("r1", "t-dead"));
        const a = leaseRecord("r1", "t-a", { owner: { pid: 1, host: "h", bootId: "b", startTicks: 1 } });
        const b = leaseRecord("r1", "t-b", { owner: { pid: 2, host: "h", bootId: "b", startTicks: 2 } });
        const [ga, gb] = await Promise.all([store.claimRunLease(a, "t-dead"), store.claimRunLease(b, "t-dead")]);
        // Exactly one wins, and both are told the same holder.
        expect(ga.token).toBe(gb.token);
        expect(["t-a", "t-b"]).toContain(ga.token);
        expect((await store.getRunLease("r1"))?.token).toBe(ga.token);
      });

      it("renews and releases a lease only for the token that holds it", async () => {
        await store.claimRunLease(leaseRecord("r1", "t1"));
        expect(await store.renewRunLease("r1", "t1", 9_000)).toBe(true);
        expect(await store.renewRunLease("r1", "t-other", 9_500)).toBe(false);
        expect(await store.renewRunLease("r-none", "t1", 9_500)).toBe(false);
        expect((await store.getRunLease("r1"))?.heartbeatAt).toBe(9_000);
        await store.releaseRunLease("r1", "t-other");
        expect(await store.getRunLease("r1")).toBeDefined();
        await store.releaseRunLease("r1", "t1");
        expect(await store.getRunLease("r1")).toBeUndefined();
        expect(await store.renewRunLease("r1", "t1", 10_000)).toBe(false);
        // Once released, a claim without a token takes it.
        expect((await store.claimRunLease(leaseRecord("r1", "t2"))).token).toBe("t2");
      });

      it("marks a running run interrupted only while its dead owner's lease is in place", async () => {
        await store.createRun(runRecord("r1"));
        await store.claimRunLease(leaseRecord("r1", "t-dead"));
        expect(await store.markRunInterrupted("r1", "t-other", 8_000)).toBe(false);
        expect(await store.markRunInterrupted("r1", "t-dead", 8_000)).toBe(true);
        expect(await store.getRun("r1")).toMatchObject({ status: "interrupted", finishedAt: 8_000 });
        // Not twice, and never a run that is no longer running.
        expect(await store.markRunInterrupted("r1", "t-dead", 9_000)).toBe(false);
        await store.createRun(runRecord("r2", { status: "failed" }));
        await store.claimRunLease(leaseRecord("r2", "t2"));
        expect(await store.markRunInterrupted("r2", "t2", 8_000)).toBe(false);
        expect((await store.getRun("r2"))?.status).toBe("failed");
      });

      it("deletes a run's lease with the run", async () => {
        await store.createRun(runRecord("r1"));
        await store.claimRunLease(leaseRecord("r1", "t1"));
        await store.deleteRuns(["r1"]);
        expect(await store.getRunLease("r1")).toBeUndefined();
      });
    });

    describe("step runs", () => {
      it("saves step runs, replaces them by id, and lists those of one run", async () => {
        await store.createRun(runRecord("r1"));
        const a = stepRunRecord("r1", "ingest", { status: "running", finishedAt: undefined, durationMs: undefined });
        const b = stepRunRecord("r1", "train", {
          status: "pending",
          attempts: 0,
          startedAt: undefined,
          finishedAt: undefined,
          durationMs: undefined,
        });
        await store.saveStepRuns([a, b]);
        await store.saveStepRuns([
          { ...a, status: "succeeded", finishedAt: 2_500, durationMs: 500, outputDigest: fakeDigest("o") },
        ]);
        const list = await store.listStepRuns("r1");
        expect(list.map((s) => s.stepId).sort()).toEqual(["ingest", "train"]);
        expect(list.find((s) => s.stepId === "ingest")).toMatchObject({
          status: "succeeded",
          durationMs: 500,
          outputDigest: fakeDigest("o"),
        });
        expect(await store.listStepRuns("other")).toEqual([]);
      });

      it("round-trips every field of a step run", async () => {
        const full = stepRunRecord("r1", "train", {
          itemIndex: 3,
          cached: true,
          cachedFrom: "r0:train[3]",
          attempts: 2,
          outputDigest: fakeDigest("out"),
          error: { code: "STEP_FAILED", name: "TrainyardError", message: "x", fields: { step: "train" } },
          reason: "cache hit: same key as r0:train[3]",
          components: { ...COMPONENTS, config: "cfg", files: { "s.py": fakeDigest("s") }, item: "it" },
        });
        await store.saveStepRuns([full]);
        expect(await store.getStepRun(full.id)).toEqual(full);
        expect(await store.getStepRun("r1:absent")).toBeUndefined();
      });

      it("completes step runs with their artifacts and lineage together", async () => {
        const out = fakeDigest("out");
        const file = fakeDigest("file");
        const sr = stepRunRecord("r1", "features", { outputDigest: out });
        await store.completeStepRuns([
          {
            stepRun: sr,
            artifacts: [
              { record: artifactRecord(out, { size: 7 }), bytes: bytesOf('{"a":1}') },
              {
                record: artifactRecord(file, {
                  kind: "dataset",
                  inline: false,
                  size: 1234,
                  meta: { rows: 10, format: "parquet" },
                }),
              },
            ],
            lineage: [
              edge(sr.id, "r1", "features", fakeDigest("raw"), "in", "raw"),
              edge(sr.id, "r1", "features", out, "out", "output"),
              edge(sr.id, "r1", "features", file, "out", "table"),
            ],
          },
        ]);
        expect(await store.getStepRun(sr.id)).toEqual(sr);
        expect(await store.getArtifact(out)).toMatchObject({ digest: out, kind: "json", inline: true, size: 7 });
        expect(await store.getArtifact(file)).toMatchObject({
          digest: file,
          kind: "dataset",
          inline: false,
          meta: { rows: 10 },
        });
        expect((await store.lineageOfStepRun(sr.id)).map((e) => [e.direction, e.name])).toEqual([
          ["in", "raw"],
          ["out", "output"],
          ["out", "table"],
        ]);
      });

      it("writes nothing of a batch of completions when one of them is rejected", async () => {
        const good = stepRunRecord("r1", "good", { outputDigest: fakeDigest("good") });
        const badArtifact = {
          ...artifactRecord(fakeDigest("bad")),
          kind: null,
          size: null,
        } as unknown as ArtifactRecord;
        await expect(
          store.completeStepRuns([
            {
              stepRun: good,
              artifacts: [{ record: artifactRecord(fakeDigest("good")), bytes: bytesOf("1") }],
              lineage: [edge(good.id, "r1", "good", fakeDigest("good"), "out", "output")],
            },
            { stepRun: stepRunRecord("r1", "bad"), artifacts: [{ record: badArtifact }], lineage: [] },
          ]),
        ).rejects.toThrow();
        expect(await store.getStepRun(good.id)).toBeUndefined();
        expect(await store.getArtifact(fakeDigest("good"))).toBeUndefined();
        expect(await store.lineageOf(fakeDigest("good"))).toEqual([]);
      });
    });

    describe("hasStepResults", () => {
      it("is false until a step run has succeeded", async () => {
        expect(await store.hasStepResults()).toBe(false);
        await store.saveStepRuns([stepRunRecord("r1", "train", { cacheKey: "K", status: "failed" })]);
        expect(await store.hasStepResults()).toBe(false);
        await completeWithOutput("r2", "train", fakeDigest("o2"), { cacheKey: "K" });
        expect(await store.hasStepResults()).toBe(true);
      });
    });

    describe("findByCacheKey", () => {
      it("returns a succeeded step run whose output artifact is stored", async () => {
        const sr = await completeWithOutput("r1", "train", fakeDigest("o1"), { cacheKey: "K" });
        expect((await store.findByCacheKey("K"))?.id).toBe(sr.id);
        expect(await store.findByCacheKey("other-key")).toBeUndefined();
      });

      it("never returns failed, running or cancelled step runs", async () => {
        for (const [i, status] of (["failed", "running", "cancelled", "skipped", "interrupted"] as const).entries()) {
          await store.saveStepRuns([
            stepRunRecord(`r${i}`, "train", { cacheKey: "K", status, outputDigest: fakeDigest(`o${i}`) }),
          ]);
          await store.putArtifacts([{ record: artifactRecord(fakeDigest(`o${i}`)), bytes: bytesOf("1") }]);
        }
        expect(await store.findByCacheKey("K")).toBeUndefined();
      });

      it("does not return a step run whose output artifact was deleted", async () => {
        await completeWithOutput("r1", "train", fakeDigest("gone"), { cacheKey: "K" });
        await store.deleteArtifacts([fakeDigest("gone")]);
        expect(await store.findByCacheKey("K")).toBeUndefined();
      });

      it("prefers the most recently finished of several matches", async () => {
        await completeWithOutput("r1", "train", fakeDigest("old"), { cacheKey: "K", finishedAt: 100 });
        await completeWithOutput("r2", "train", fakeDigest("new"), { cacheKey: "K", finishedAt: 200 });
        await completeWithOutput("r3", "train", fakeDigest("mid"), { cacheKey: "K", finishedAt: 150 });
        expect((await store.findByCacheKey("K"))?.outputDigest).toBe(fakeDigest("new"));
      });
    });

    describe("previousStepRun", () => {
      it("finds the newest earlier run of the same step and item in the same pipeline", async () => {
        await store.createRun(runRecord("old", { createdAt: 100 }));
        await store.createRun(runRecord("mid", { createdAt: 200 }));
        await store.createRun(runRecord("cur", { createdAt: 300 }));
        await store.createRun(runRecord("other", { createdAt: 250, pipeline: "other" }));
        await store.createRun(runRecord("future", { createdAt: 400 }));
        await store.saveStepRuns([
          stepRunRecord("old", "train"),
          stepRunRecord("mid", "train", { status: "failed" }),
          stepRunRecord("mid", "train", { itemIndex: 0 }),
          stepRunRecord("other", "train"),
          stepRunRecord("cur", "train"),
          stepRunRecord("future", "train"),
        ]);
        expect((await store.previousStepRun("demo", "train", -1, 300, "cur"))?.runId).toBe("mid");
        expect((await store.previousStepRun("demo", "train", 0, 300, "cur"))?.id).toBe("mid:train[0]");
        expect((await store.previousStepRun("demo", "train", -1, 150, "cur"))?.runId).toBe("old");
        expect((await store.previousStepRun("other", "train", -1, 300, "cur"))?.runId).toBe("other");
        expect(await store.previousStepRun("demo", "evaluate", -1, 300, "cur")).toBeUndefined();
      });

      it("ignores step runs without key components and those that never finished", async () => {
        await store.createRun(runRecord("a", { createdAt: 100 }));
        await store.createRun(runRecord("b", { createdAt: 150 }));
        await store.createRun(runRecord("c", { createdAt: 180 }));
        await store.createRun(runRecord("cur", { createdAt: 200 }));
        await store.saveStepRuns([
          stepRunRecord("a", "train"),
          stepRunRecord("b", "train", { components: undefined }),
          stepRunRecord("c", "train", { status: "running", finishedAt: undefined }),
          stepRunRecord("cur", "train"),
        ]);
        expect((await store.previousStepRun("demo", "train", -1, 200, "cur"))?.runId).toBe("a");
      });
    });

    describe("stepDurations", () => {
      it("is the median of recent successful, non-cached runs of each step of the pipeline", async () => {
        await store.createRun(runRecord("r1", { createdAt: 1 }));
        await store.createRun(runRecord("r2", { createdAt: 2 }));
        await store.createRun(runRecord("r3", { createdAt: 3 }));
        await store.createRun(runRecord("x", { createdAt: 4, pipeline: "other" }));
        await store.saveStepRuns([
          stepRunRecord("r1", "train", { durationMs: 100, finishedAt: 10 }),
          stepRunRecord("r2", "train", { durationMs: 300, finishedAt: 20 }),
          stepRunRecord("r3", "train", { durationMs: 200, finishedAt: 30 }),
          stepRunRecord("r3", "ingest", { durationMs: 7, finishedAt: 30 }),
          stepRunRecord("r1", "ingest", { durationMs: 0, cached: true, finishedAt: 10 }),
          stepRunRecord("r2", "ingest", { durationMs: 9_999, status: "failed", finishedAt: 20 }),
          stepRunRecord("r2", "ingest", { durationMs: 5_555, itemIndex: 0, finishedAt: 20 }),
          stepRunRecord("x", "train", { durationMs: 50_000, finishedAt: 40 }),
        ]);
        const d = await store.stepDurations("demo");
        expect(d.get("train")).toBe(200);
        expect(d.get("ingest")).toBe(7);
        expect(d.size).toBe(2);
        expect((await store.stepDurations("nothing")).size).toBe(0);
      });
    });

    describe("attempts and logs", () => {
      it("saves attempts, replaces an attempt by number and lists them in order", async () => {
        await store.saveAttempt({ stepRunId: "r1:train", attempt: 2, status: "running", startedAt: 20 });
        await store.saveAttempt({
          stepRunId: "r1:train",
          attempt: 1,
          status: "failed",
          startedAt: 10,
          finishedAt: 15,
          error: { code: "STEP_FAILED", name: "Error", message: "flaky" },
        });
        await store.saveAttempt({
          stepRunId: "r1:train",
          attempt: 2,
          status: "succeeded",
          startedAt: 20,
          finishedAt: 25,
        });
        await store.saveAttempt({ stepRunId: "r1:other", attempt: 1, status: "succeeded", startedAt: 1 });
        const list = await store.listAttempts("r1:train");
        expect(list.map((a) => [a.attempt, a.status])).toEqual([
          [1, "failed"],
          [2, "succeeded"],
        ]);
        expect(list[0].error?.message).toBe("flaky");
        expect(list[1].finishedAt).toBe(25);
        expect(await store.listAttempts("none")).toEqual([]);
      });

      it("appends log lines per attempt and reads them back in order", async () => {
        await store.appendLogs("r1:train", 1, [
          { ts: 1, stream: "log", line: "first" },
          { ts: 2, stream: "stdout", line: "second" },
        ]);
        await store.appendLogs("r1:train", 2, [{ ts: 3, stream: "stderr", line: "third" }]);
        await store.appendLogs("r1:train", 1, []);
        await store.appendLogs("r1:other", 1, [{ ts: 4, stream: "log", line: "elsewhere" }]);
        expect(await store.getLogs("r1:train")).toEqual([
          { attempt: 1, ts: 1, stream: "log", line: "first" },
          { attempt: 1, ts: 2, stream: "stdout", line: "second" },
          { attempt: 2, ts: 3, stream: "stderr", line: "third" },
        ]);
        expect((await store.getLogs("r1:train", 2)).map((l) => l.line)).toEqual(["third"]);
        expect(await store.getLogs("r1:none")).toEqual([]);
      });
    });

    describe("artifacts", () => {
      it("keeps inline bytes for inline artifacts only", async () => {
        const inl = fakeDigest("inline");
        const ext = fakeDigest("external");
        await store.putArtifacts([
          { record: artifactRecord(inl, { size: 11 }), bytes: bytesOf('{"x":[1,2]}') },
          { record: artifactRecord(ext, { kind: "file", inline: false, size: 99, meta: { note: "n" } }) },
        ]);
        expect(Buffer.from((await store.getInlineBytes(inl))!).toString()).toBe('{"x":[1,2]}');
        expect(await store.getInlineBytes(ext)).toBeUndefined();
        expect(await store.getInlineBytes(fakeDigest("missing"))).toBeUndefined();
        expect(await store.getArtifact(inl)).toEqual(artifactRecord(inl, { size: 11 }));
        expect(await store.getArtifact(ext)).toEqual(
          artifactRecord(ext, { kind: "file", inline: false, size: 99, meta: { note: "n" } }),
        );
      });

      it("finds an artifact by a unique digest prefix", async () => {
        const a = `sha256:abcd${"0".repeat(60)}`;
        const b = `sha256-tree:abce${"0".repeat(60)}`;
        await store.putArtifacts([
          { record: artifactRecord(a), bytes: bytesOf("1") },
          { record: artifactRecord(b), bytes: bytesOf("2") },
        ]);
        expect((await store.getArtifact("abcd0"))?.digest).toBe(a);
        expect((await store.getArtifact("sha256-tree:abc"))?.digest).toBe(b);
        expect((await store.getArtifact("abce"))?.digest).toBe(b);
        expect(await store.getArtifact("sha256:abce")).toBeUndefined();
        expect(await store.getArtifact("abc")).toBeUndefined();
        expect(await store.getArtifact("abc0")).toBeUndefined();
      });

      it("stores the same digest twice without error and lists, then deletes artifacts", async () => {
        const d1 = fakeDigest("d1");
        const d2 = fakeDigest("d2");
        await store.putArtifacts([{ record: artifactRecord(d1), bytes: bytesOf("1") }]);
        await store.putArtifacts([
          { record: artifactRecord(d1), bytes: bytesOf("1") },
          { record: artifactRecord(d2, { inline: false }) },
        ]);
        expect((await store.listArtifacts()).map((a) => a.digest).sort()).toEqual([d1, d2].sort());
        await store.deleteArtifacts([d1]);
        expect(await store.getArtifact(d1)).toBeUndefined();
        expect(await store.getInlineBytes(d1)).toBeUndefined();
        expect((await store.listArtifacts()).map((a) => a.digest)).toEqual([d2]);
      });

      it("answers lineage by digest and by step run", async () => {
        const raw = fakeDigest("raw");
        const feat = fakeDigest("feat");
        await store.completeStepRuns([
          {
            stepRun: stepRunRecord("r1", "features", { outputDigest: feat }),
            artifacts: [{ record: artifactRecord(feat), bytes: bytesOf("1") }],
            lineage: [
              edge("r1:features", "r1", "features", raw, "in", "raw"),
              edge("r1:features", "r1", "features", feat, "out", "output"),
            ],
          },
        ]);
        await store.completeStepRuns([
          {
            stepRun: stepRunRecord("r2", "features", { outputDigest: feat, cached: true, cachedFrom: "r1:features" }),
            artifacts: [],
            lineage: [edge("r2:features", "r2", "features", feat, "out", "output", true)],
          },
          {
            stepRun: stepRunRecord("r2", "train"),
            artifacts: [],
            lineage: [edge("r2:train", "r2", "train", feat, "in", "features")],
          },
        ]);
        const edges = await store.lineageOf(feat);
        expect(edges).toEqual([
          edge("r1:features", "r1", "features", feat, "out", "output"),
          edge("r2:features", "r2", "features", feat, "out", "output", true),
          edge("r2:train", "r2", "train", feat, "in", "features"),
        ]);
        expect(await store.lineageOfStepRun("r1:features")).toEqual([
          edge("r1:features", "r1", "features", raw, "in", "raw"),
          edge("r1:features", "r1", "features", feat, "out", "output"),
        ]);
        expect(await store.lineageOf(fakeDigest("nothing"))).toEqual([]);
      });

      it("lists the digests that given runs read or wrote", async () => {
        await store.completeStepRuns([
          {
            stepRun: stepRunRecord("r1", "a"),
            artifacts: [],
            lineage: [
              edge("r1:a", "r1", "a", fakeDigest("x"), "in", "x"),
              edge("r1:a", "r1", "a", fakeDigest("y"), "out", "output"),
            ],
          },
          {
            stepRun: stepRunRecord("r2", "a"),
            artifacts: [],
            lineage: [edge("r2:a", "r2", "a", fakeDigest("z"), "out", "output")],
          },
          {
            stepRun: stepRunRecord("r3", "a"),
            artifacts: [],
            lineage: [edge("r3:a", "r3", "a", fakeDigest("w"), "out", "output")],
          },
        ]);
        expect([...(await store.digestsUsedByRuns(["r1", "r2"]))].sort()).toEqual(
          [fakeDigest("x"), fakeDigest("y"), fakeDigest("z")].sort(),
        );
        expect((await store.digestsUsedByRuns([])).size).toBe(0);
        expect((await store.pinnedDigests()).size).toBe(0);
      });
    });

    describe("deleteRuns", () => {
      it("removes the runs with their step runs, attempts, logs and lineage, and nothing else", async () => {
        for (const id of ["gone", "kept"]) {
          await store.createRun(runRecord(id));
          await store.completeStepRuns([
            {
              stepRun: stepRunRecord(id, "a", { outputDigest: fakeDigest(id) }),
              artifacts: [{ record: artifactRecord(fakeDigest(id)), bytes: bytesOf("1") }],
              lineage: [edge(`${id}:a`, id, "a", fakeDigest(id), "out", "output")],
            },
          ]);
          await store.saveAttempt({ stepRunId: `${id}:a`, attempt: 1, status: "succeeded", startedAt: 1 });
          await store.appendLogs(`${id}:a`, 1, [{ ts: 1, stream: "log", line: id }]);
        }
        await store.deleteRuns(["gone"]);
        expect(await store.getRun("gone")).toBeUndefined();
        expect(await store.listStepRuns("gone")).toEqual([]);
        expect(await store.getStepRun("gone:a")).toBeUndefined();
        expect(await store.listAttempts("gone:a")).toEqual([]);
        expect(await store.getLogs("gone:a")).toEqual([]);
        expect(await store.lineageOf(fakeDigest("gone"))).toEqual([]);
        expect((await store.digestsUsedByRuns(["gone"])).size).toBe(0);
        // Artifacts are gc's business, not deleteRuns'.
        expect(await store.getArtifact(fakeDigest("gone"))).toBeDefined();
        expect(await store.getRun("kept")).toBeDefined();
        expect(await store.listStepRuns("kept")).toHaveLength(1);
        expect(await store.listAttempts("kept:a")).toHaveLength(1);
        expect(await store.getLogs("kept:a")).toHaveLength(1);
        expect(await store.lineageOf(fakeDigest("kept"))).toHaveLength(1);
      });
    });

    describe("metrics and tags", () => {
      const point = (
        stepRunId: string,
        name: string,
        value: number,
        extra: Partial<MetricPoint> = {},
      ): MetricPoint => ({
        stepRunId,
        runId: stepRunId.split(":")[0],
        stepId: "train",
        itemIndex: -1,
        attempt: 1,
        name,
        value,
        ts: 5_000,
        ...extra,
      });

      it(
        "records metric points with and without a step index, " + "in order, per step run, with batches and alone",
        async () => {
          await store.createRun(runRecord("r1"));
          await store.saveStepRuns([stepRunRecord("r1", "train")]);
          const curve = [0.9, 0.5, 0.25].map((v, i) => point("r1:train", "loss", v, { step: i, goal: "min" }));
          await store.appendMetrics(curve, [
            { stepRunId: "r1:train", runId: "r1", key: "model", value: "gbdt", ts: 5_000 },
          ]);
          const trial = point("r1:search[2]", "auc", 0.7125, {
            stepId: "search",
            itemIndex: 2,
            attempt: 2,
            ts: 5_001.5,
          });
          const batch = { stepRuns: [], attempts: [], logs: [], completions: [] };
          if (store.writeBatch) await store.writeBatch({ ...batch, metrics: [trial], tags: [] });
          else await store.appendMetrics([trial]);
          await store.appendMetrics([point("r1:train", "auc", 0.8)]);
          expect(await store.listMetrics(["r1:train"])).toEqual([...curve, point("r1:train", "auc", 0.8)]);
          expect(await store.listMetrics(["r1:search[2]", "r1:train"])).toEqual([
            trial,
            ...curve,
            point("r1:train", "auc", 0.8),
          ]);
          expect(await store.listMetrics(["r1:nothing"])).toEqual([]);
          expect(await store.listMetrics([])).toEqual([]);
          expect(await store.listTags(["r1:train"])).toEqual([
            { stepRunId: "r1:train", runId: "r1", key: "model", value: "gbdt", ts: 5_000 },
          ]);
        },
      );

      it("removes a run's metrics and tags with the run", async () => {
        for (const id of ["gone", "kept"]) {
          await store.createRun(runRecord(id));
          await store.appendMetrics(
            [point(`${id}:train`, "auc", 0.5)],
            [{ stepRunId: `${id}:train`, runId: id, key: "k", value: "v", ts: 1 }],
          );
        }
        await store.deleteRuns(["gone"]);
        expect(await store.listMetrics(["gone:train"])).toEqual([]);
        expect(await store.listTags(["gone:train"])).toEqual([]);
        expect(await store.listMetrics(["kept:train"])).toHaveLength(1);
        expect(await store.listTags(["kept:train"])).toHaveLength(1);
      });
    });

    describe("stat index", () => {
      it("stores, replaces and reads stat entries by path", async () => {
        expect(await store.getStat("/data/raw.csv")).toBeUndefined();
        const e = { path: "/data/raw.csv", size: 10, mtimeMs: 1234.5, ino: 77, digest: fakeDigest("raw") };
        await store.putStat(e);
        expect(await store.getStat(e.path)).toEqual(e);
        const e2 = { ...e, size: 11, mtimeMs: 2000.25, digest: fakeDigest("raw2") };
        await store.putStat(e2);
        expect(await store.getStat(e.path)).toEqual(e2);
        expect(await store.getStat("/data/other.csv")).toBeUndefined();
      });
    });
  });
}
