/**
 * The metadata conformance suite, and the engine end to end, on a real PostgreSQL server
 * started for this file (test/support/postgres.ts). Each store gets its own schema, so every
 * conformance test starts from empty tables without a new database per test.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Trainyard } from "../../src/engine/trainyard.js";
import { pipeline } from "../../src/index.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { POSTGRES_MIGRATIONS } from "../../src/store/postgres-migrations.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { artifactRecord, describeMetadataStore, fakeDigest, runRecord, stepRunRecord } from "./metadata-conformance.js";

const postgres = requireTools("postgresql");

let server: TestPostgres;
let n = 0;
const freshSchema = () => `conformance_${n++}`;

postgres.describe("PostgresMetadataStore", () => {
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeMetadataStore("postgres", () => PostgresMetadataStore.open({ url: server.url, schema: freshSchema() }));

  describe("specifics", () => {
    it("keeps records across reopening and applies each migration once", async () => {
      const schema = freshSchema();
      const a = await PostgresMetadataStore.open({ url: server.url, schema });
      await a.createRun(runRecord("r1", { status: "succeeded" }));
      await a.completeStepRuns([
        {
          stepRun: stepRunRecord("r1", "train", { outputDigest: fakeDigest("o"), cacheKey: "K" }),
          artifacts: [{ record: artifactRecord(fakeDigest("o")), bytes: new Uint8Array([0, 255, 1]) }],
          lineage: [
            {
              stepRunId: "r1:train",
              runId: "r1",
              stepId: "train",
              digest: fakeDigest("o"),
              direction: "out",
              name: "output",
              reused: false,
            },
          ],
        },
      ]);
      await a.close();
      await a.close(); // closing twice is harmless
      // Concurrent first opens of one schema serialise on the migration lock.
      const [b, c] = await Promise.all([
        PostgresMetadataStore.open({ url: server.url, schema }),
        PostgresMetadataStore.open({ url: server.url, schema }),
      ]);
      try {
        expect((await b.findByCacheKey("K"))?.id).toBe("r1:train");
        expect([...(await c.getInlineBytes(fakeDigest("o")))!]).toEqual([0, 255, 1]);
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        const rows = (await client.query(`SELECT version FROM ${schema}.trainyard_migrations ORDER BY version`)).rows;
        await client.end();
        expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
      } finally {
        await b.close();
        await c.close();
      }
    });

    it("stores log lines with NUL characters, which PostgreSQL text cannot hold", async () => {
      const s = await PostgresMetadataStore.open({ url: server.url, schema: freshSchema() });
      try {
        await s.appendLogs("r1:a", 1, [{ ts: 1.5, stream: "stdout", line: "a\0b" }]);
        expect((await s.getLogs("r1:a"))[0]).toEqual({ attempt: 1, ts: 1.5, stream: "stdout", line: "a\uFFFDb" });
      } finally {
        await s.close();
      }
    });

    it("fails to open with a coded error that hides the password", async () => {
      const url = server.url
        .replace("postgres@", "postgres:s3cret@")
        .replace(/:(\d+)\//, (_, port) => `:${Number(port) === 1 ? 2 : 1}/`);
      const err = await PostgresMetadataStore.open({ url }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "METADATA_UNAVAILABLE" });
      expect(String((err as Error).message)).not.toContain("s3cret");
      expect((err as { hint?: string }).hint).toMatch(/running and reachable/);
    });
  });

  describe("the engine on PostgreSQL", () => {
    const homes: string[] = [];
    afterAll(() => homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true })));

    function build(counts: Record<string, number>) {
      const p = pipeline("pg-demo", { params: z.object({ lr: z.number().default(0.5), rows: z.number().default(4) }) });
      const hit = (id: string) => (counts[id] = (counts[id] ?? 0) + 1);
      const data = p.step("data", {
        params: ["rows"],
        run: (ctx) => (hit("data"), Array.from({ length: ctx.params.rows }, (_, i) => i)),
      });
      const train = p.step("train", {
        params: ["lr"],
        inputs: { data },
        run: (ctx, i) => {
          hit("train");
          for (const [epoch, loss] of [0.8, 0.4].entries()) ctx.metric("loss", loss * ctx.params.lr, { step: epoch });
          ctx.tag("optimizer", "sgd");
          return { w: i.data.length * ctx.params.lr };
        },
      });
      p.step("report", {
        inputs: { train },
        run: (ctx, i) => (hit("report"), ctx.log(`w=${i.train.w}`), `weight ${i.train.w}`),
      });
      return p;
    }

    it("runs a pipeline, reuses it from the cache, and explains a param change", async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), "ty-pg-home-"));
      homes.push(home);
      const ty = await Trainyard.open({ home, metadata: { kind: "postgres", url: server.url, schema: freshSchema() } });
      try {
        expect(ty.metadata.backend).toBe("postgres");
        const counts: Record<string, number> = {};
        const r1 = await ty.run(build(counts));
        expect(r1.status).toBe("succeeded");
        expect(await ty.output(r1.runId, "report")).toBe("weight 2");

        const r2 = await ty.run(build(counts));
        expect(r2.steps.map((s) => [s.step, s.cached])).toEqual([
          ["data", true],
          ["train", true],
          ["report", true],
        ]);
        expect(counts).toEqual({ data: 1, train: 1, report: 1 });
        expect((await ty.why(r2.runId, "train")).decision).toBe("cache hit");

        const r3 = await ty.run(build(counts), { params: { lr: 0.25 } });
        expect(Object.fromEntries(r3.steps.map((s) => [s.step, s.cached]))).toEqual({
          data: true,
          train: false,
          report: false,
        });
        // A prefix (date, time and the first hex digits) that no other run shares: runs started in the
        // same second differ only in their random part.
        let prefix = r3.runId.slice(0, 18);
        while ([r1.runId, r2.runId].some((id) => id.startsWith(prefix))) prefix = r3.runId.slice(0, prefix.length + 1);
        const why = await ty.why(prefix, "train");
        expect(why.decision).toBe("ran");
        expect(why.reasons.join("\n")).toMatch(/lr.*0\.5.*0\.25/);
        // Compared with the newest earlier run that computed train (whether the engine keeps key components on cache
        // hits decides which).
        expect([r1.runId, r2.runId]).toContain(why.against?.runId);

        // Records live in PostgreSQL; only artifact bytes are on the file system.
        expect(fs.existsSync(path.join(home, "metadata.db"))).toBe(false);
        expect((await ty.metadata.listRuns({ pipeline: "pg-demo" })).map((r) => r.id)).toEqual([
          r3.runId,
          r2.runId,
          r1.runId,
        ]);
        const reportRun = (await ty.metadata.listStepRuns(r3.runId)).find((s) => s.stepId === "report")!;
        expect((await ty.metadata.getLogs(reportRun.id)).map((l) => l.line)).toContain("w=1");

        // Experiment tracking on PostgreSQL: series, the reused step's metrics, a comparison.
        const [loss] = await ty.query.metrics(r2.runId, { metric: "loss" });
        expect(loss).toMatchObject({
          stepId: "train",
          goal: "min",
          final: 0.2,
          reused: true,
          fromStepRun: `${r1.runId}:train`,
        });
        expect(loss.points.map((p) => p.step)).toEqual([0, 1]);
        expect(await ty.query.tags(r3.runId)).toEqual({ optimizer: "sgd" });
        const compared = await ty.query.compareRuns([r1.runId, r3.runId]);
        const differing = compared.rows.filter((r) => r.differs).map((r) => [r.key, r.measure]);
        expect(differing).toEqual([
          ["lr", undefined],
          ["train.loss", "best"],
          ["train.loss", "final"],
        ]);
      } finally {
        await ty.close();
      }
    });
  });
});
