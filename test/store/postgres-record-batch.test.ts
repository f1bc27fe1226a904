/**
 * What a PostgreSQL record batch and a task fence write: a batch's statement holds only the tables it
 * has rows for, an artifact record sent again unchanged leaves its row untouched (no lock, no new
 * version), a fence's claim and commit update its row in place (HOT: no index written), and a batch
 * whose answer was lost after the server committed it is not applied twice when it is sent again.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchStatement, WRITE_BATCH_NAME } from "../../src/store/postgres-record-batch.js";
import type { RecordBatch } from "../../src/store/metadata-records.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { inTransaction } from "../../src/store/postgres-transaction.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { AnswerDroppingProxy } from "../support/answer-dropping-proxy.js";
import { requireTools } from "../support/require-tool.js";

const EMPTY: RecordBatch = { stepRuns: [], attempts: [], logs: [], completions: [] };
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const artifact = (n: number, meta: Record<string, unknown> = {}) => ({
  record: { digest: digest(n), kind: "json" as const, size: 2, meta, createdAt: 1, inline: true },
  bytes: new TextEncoder().encode(String(n)),
});

describe("a record batch's statement", () => {
  it("has a CTE and parameters only for the tables the batch has rows for", () => {
    const attempt = { stepRunId: "r:a", attempt: 1, status: "succeeded" as const, startedAt: 1, finishedAt: 2 };
    const attemptsOnly = batchStatement({ ...EMPTY, attempts: [attempt] });
    expect(attemptsOnly.ctes.match(/INSERT INTO (\w+)/g)).toEqual(["INSERT INTO attempts"]);
    expect(attemptsOnly.params).toHaveLength(6);
    const withArtifacts = batchStatement({ ...EMPTY, attempts: [attempt], artifacts: [artifact(1)] });
    expect(withArtifacts.ctes.match(/INSERT INTO (\w+)/g)).toEqual(["INSERT INTO attempts", "INSERT INTO artifacts"]);
    // A batch that appends (log lines here) first records its own id: it applies once (see the last cases).
    const logs = [{ stepRunId: "r:a", attempt: 1, lines: [{ ts: 1, stream: "log" as const, line: "x" }] }];
    const withLogs = batchStatement({ ...EMPTY, attempts: [attempt], logs });
    expect(withLogs.ctes.match(/INSERT INTO (\w+)/g)).toEqual([
      "INSERT INTO record_batches",
      "INSERT INTO attempts",
      "INSERT INTO logs",
    ]);
    expect(withLogs.params).toHaveLength(6 + 5 + 2);
    // Each shape is its own prepared statement: the two batches must not share a name.
    expect(withArtifacts.shape).not.toBe(attemptsOnly.shape);
    expect(batchStatement(EMPTY)).toMatchObject({ ctes: "", params: [] });
  });
});

let server: TestPostgres | undefined;
requireTools("postgresql").describe("on PostgreSQL", () => {
  let metadata: PostgresMetadataStore;
  let sql: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    metadata = await PostgresMetadataStore.open({ url: server.url, schema: "batch_rows" });
    sql = new pg.Client({ connectionString: server.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await metadata?.close();
    await server?.stop();
  });

  const versionOf = async (d: string) =>
    (await sql.query(`SELECT xmin::text, xmax::text, meta::text FROM batch_rows.artifacts WHERE digest = $1`, [d]))
      .rows[0];

  it("leaves an artifact row untouched when its record comes again no richer, and keeps a richer one", async () => {
    await metadata.writeBatch({ ...EMPTY, artifacts: [artifact(7)] });
    const first = await versionOf(digest(7));
    // Another worker's batch sends the same output again, beside a record of its own.
    await metadata.writeBatch({ ...EMPTY, artifacts: [artifact(7), artifact(8)] });
    // Not even locked: a lock would have stamped the row with the batch's transaction (xmax).
    expect(await versionOf(digest(7))).toEqual({ ...first, xmax: "0" });
    await metadata.writeBatch({ ...EMPTY, artifacts: [artifact(7, { rows: 3 })] });
    expect((await versionOf(digest(7))).meta).toBe('{"rows":3}');
  });

  it("claims and commits a fence in place: the row keeps its page, so no index entry is written", async () => {
    const fences = await taskFenceFor(metadata);
    // Encoded tasks of the size a step's task has (its inputs, params and cache key).
    const task = JSON.stringify({ stepId: "s", pad: "x".repeat(800) });
    const ids = Array.from({ length: 40 }, (_, i) => `r9:s${i}`);
    await fences.openMany(
      ids.map((id) => ({ stepRunId: id, runId: "r9", attemptId: `d-${id}`, jobId: `j-${id}`, queue: "q", task })),
      1,
    );
    const pages = async () =>
      new Map(
        (
          await sql.query(
            `SELECT step_run_id, (ctid::text::point)[0] AS page FROM batch_rows.task_fences WHERE run_id = 'r9'`,
          )
        ).rows.map((r) => [r.step_run_id as string, Number(r.page)]),
      );
    const before = await pages();
    const claims = ids.map((id) => ({ stepRunId: id, attemptId: `d-${id}`, claim: `c-${id}`, worker: "host/w1" }));
    const result = JSON.stringify({ status: "succeeded", pad: "y".repeat(400) });
    // Workers claim and commit a few tasks per statement.
    for (let i = 0; i < ids.length; i += 8) {
      const some = claims.slice(i, i + 8);
      expect(await fences.claimMany(some, 2)).toEqual(some.map(() => true));
    }
    for (let i = 0; i < ids.length; i += 8) {
      const some = claims.slice(i, i + 8).map((c) => ({ ...c, result }));
      expect(await fences.commitMany(some, 3)).toEqual(some.map(() => true));
    }
    const after = await pages();
    const stayed = ids.filter((id) => after.get(id) === before.get(id));
    // An update that finds no room in its page moves the row and writes every index: in pages filled up by
    // the inserts, every row moves. With room kept, most stay (the rest moved when a commit found a page full).
    expect(stayed.length).toBeGreaterThan(ids.length / 2);
    expect((await fences.get(ids[0]))!.state).toBe("committed");
  });

  describe("a batch committed by the server whose answer was lost", () => {
    let proxy: AnswerDroppingProxy;
    let viaProxy: PostgresMetadataStore;
    beforeAll(async () => {
      const { hostname, port } = new URL(server!.url);
      proxy = await AnswerDroppingProxy.start({ host: hostname, port: Number(port) });
      const url = new URL(server!.url);
      url.port = String(proxy.port);
      viaProxy = await PostgresMetadataStore.open({ url: url.href, schema: "batch_rows" });
    });
    afterAll(async () => {
      await viaProxy?.close();
      await proxy?.stop();
    });

    /** A step run's records of every kind that is appended rather than upserted. */
    const appended = (stepRunId: string): RecordBatch => {
      const ids = { stepRunId, runId: "r5", stepId: "train" };
      const stepRun = { id: stepRunId, runId: "r5", stepId: "train", itemIndex: -1, status: "succeeded" as const };
      return {
        ...EMPTY,
        logs: [
          {
            stepRunId,
            attempt: 1,
            lines: [1, 2, 3].map((n) => ({ ts: n, stream: "stdout" as const, line: `epoch ${n}` })),
          },
        ],
        metrics: [1, 2].map((step) => ({
          ...ids,
          itemIndex: -1,
          attempt: 1,
          name: "loss",
          value: 1 / step,
          step,
          ts: step,
        })),
        tags: [{ ...ids, key: "model", value: "gbdt", ts: 1 }],
        completions: [
          {
            stepRun: { ...stepRun, cached: false, attempts: 1 },
            artifacts: [artifact(40)],
            lineage: [{ ...ids, digest: digest(40), direction: "out" as const, name: "output", reused: false }],
          },
        ],
      };
    };
    const counts = async (stepRunId: string) => {
      const count = async (table: string) =>
        Number(
          (await sql.query(`SELECT count(*) AS n FROM batch_rows.${table} WHERE step_run_id = $1`, [stepRunId])).rows[0]
            .n,
        );
      return {
        logs: await count("logs"),
        metrics: await count("metrics"),
        tags: await count("run_tags"),
        lineage: await count("lineage"),
      };
    };
    const once = { logs: 3, metrics: 2, tags: 1, lineage: 1 };

    it("is sent again on a new connection and applied once", async () => {
      proxy.dropAnswerTo(WRITE_BATCH_NAME);
      await viaProxy.writeBatch(appended("r5:lost"));
      expect(proxy.dropped).toBe(1);
      expect(await counts("r5:lost")).toEqual(once);
    });

    it("with a task fence's commit in the same statement: applied once, and the fence committed", async () => {
      const fences = await taskFenceFor(viaProxy);
      const fence = { stepRunId: "r5:fenced", runId: "r5", attemptId: "d1", jobId: "j1", queue: "q" };
      await fences.openMany([{ ...fence, task: "{}" }], 1);
      const claim = { stepRunId: fence.stepRunId, attemptId: "d1", claim: "c1", worker: "host/w1" };
      expect(await fences.claimMany([claim], 2)).toEqual([true]);
      proxy.dropAnswerTo("trainyard.fence-commit-with-records");
      const before = proxy.dropped;
      await fences.commitManyWithRecords!([{ ...claim, result: '{"status":"succeeded"}' }], appended("r5:fenced"), 3);
      expect(proxy.dropped).toBe(before + 1);
      expect(await counts("r5:fenced")).toEqual(once);
      expect(await fences.get("r5:fenced")).toMatchObject({ state: "committed", claim: "c1" });
    });

    it("prunes statement ids older than an hour as it writes, in batches and in transactions alike", async () => {
      const stale = async () => {
        const now = Date.now();
        await sql.query(`INSERT INTO batch_rows.record_batches (id, written_at) VALUES ('stale', $1), ('recent', $2)`, [
          now - 2 * 3600_000,
          now - 60_000,
        ]);
      };
      const left = async () => {
        const rows = (await sql.query(`SELECT id FROM batch_rows.record_batches WHERE id IN ('stale', 'recent')`)).rows;
        await sql.query(`DELETE FROM batch_rows.record_batches WHERE id = 'recent'`);
        return rows.map((r) => r.id);
      };
      await stale();
      // One guarded statement or transaction in 256 prunes (per process).
      for (let i = 0; i < 256; i++) await metadata.appendLogs("r5:prune", 1, [{ ts: i, stream: "log", line: "x" }]);
      expect(await left()).toEqual(["recent"]);
      // A process that only runs transactions prunes too (before, it added ids it never pruned).
      await stale();
      const pool = new pg.Pool({ connectionString: server!.url, options: "-c search_path=batch_rows", max: 1 });
      try {
        for (let i = 0; i < 256; i++) await inTransaction(pool, (c) => c.query("SELECT 1"));
      } finally {
        await pool.end();
      }
      expect(await left()).toEqual(["recent"]);
    });

    it("a run created: sent again, it meets its own row and succeeds; another run's id still fails", async () => {
      const run = {
        id: "r-created",
        pipeline: "p",
        modulePath: "/p.ts",
        params: {},
        trigger: "manual" as const,
        status: "running" as const,
        codeVersion: "c1",
        createdAt: 5,
        options: {},
      };
      const before = proxy.dropped;
      proxy.dropAnswerTo("INSERT INTO runs");
      // Before, the insert sent again failed on its own row: the run failed to start, and its row stayed running.
      await viaProxy.createRun(run);
      expect(proxy.dropped).toBe(before + 1);
      expect((await viaProxy.getRun("r-created"))?.status).toBe("running");
      await expect(viaProxy.createRun({ ...run, createdAt: 6 })).rejects.toThrow(/exists/);
    });

    it("a new batch with the same rows is still applied: the guard is per statement, not per content", async () => {
      await viaProxy.writeBatch(appended("r5:lost"));
      expect(await counts("r5:lost")).toEqual({ logs: 6, metrics: 4, tags: 2, lineage: 2 });
    });
  });
});
