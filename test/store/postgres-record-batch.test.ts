/**
 * What a PostgreSQL record batch and a task fence write: a batch's statement holds only the tables it
 * has rows for, an artifact record sent again unchanged leaves its row untouched (no lock, no new
 * version), and a fence's claim and commit update its row in place (HOT: no index written).
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchStatement } from "../../src/store/postgres-record-batch.js";
import type { RecordBatch } from "../../src/store/metadata-records.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
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
});
