/**
 * The workers overview's reads of the task fence on PostgreSQL, with many finished runs' fences present:
 * their plans reach the fences through the runs and the fences' run index (`task_fences_run`), never a
 * scan of the whole table, and their answers are those of a read of the whole table.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunStatus } from "../../src/store/metadata-records.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { HELD_FENCES_SQL, IN_FLIGHT_QUEUES_SQL } from "../../src/store/postgres-task-fence.js";
import { rowToFence, type TaskFenceStore } from "../../src/store/task-fence.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";

const SCHEMA = "fence_plan";
const FINISHED_RUNS = 2000;
const FENCES_PER_RUN = 10;

let server: TestPostgres | undefined;
let metadata: PostgresMetadataStore;
let fences: TaskFenceStore;
let sql: pg.Client;

/** Records runs of `status`, in one statement (a finished run's record as any other). */
async function createRuns(ids: string[], status: RunStatus): Promise<void> {
  await sql.query(
    `INSERT INTO runs (id, pipeline, module_path, params, trigger, status, code_version, created_at, options)
    SELECT id, 'p', '/srv/p.ts', '{}', 'manual', $2, 'c', 1, '{}' FROM unnest($1::text[]) AS id`,
    [ids, status],
  );
}

/** Opens `per` fences for each run, on queues cpu and gpu in turn. */
async function openFences(runIds: string[], per: number): Promise<string[]> {
  const open = runIds.flatMap((runId) =>
    Array.from({ length: per }, (_, i) => ({
      ...{ stepRunId: `${runId}:s${i}`, runId, attemptId: "d1", jobId: `${runId}-j${i}` },
      ...{ queue: i % 2 ? "gpu" : "cpu", task: "{}" },
    })),
  );
  await fences.openMany(open, 1);
  return open.map((f) => f.stepRunId);
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

/** Every node of the plan PostgreSQL picks for `text`. */
async function planNodes(text: string, values: unknown[] = []): Promise<PlanNode[]> {
  const { rows } = await sql.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const nodes: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    nodes.push(n);
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(rows[0]["QUERY PLAN"][0].Plan);
  return nodes;
}

/** The plan reads task_fences only through task_fences_run (an index or bitmap scan), never a sequential scan. */
function readsThroughRunIndex(nodes: PlanNode[]): void {
  const plan = JSON.stringify(nodes);
  expect(
    nodes.some((n) => n["Index Name"] === "task_fences_run"),
    plan,
  ).toBe(true);
  const onFences = nodes.filter((n) => n["Relation Name"] === "task_fences");
  expect(onFences.length, plan).toBeGreaterThan(0);
  for (const n of onFences) expect(n["Node Type"], plan).toMatch(/^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/);
}

requireTools("postgresql").describe("the workers overview's reads of the fences (PostgreSQL)", () => {
  beforeAll(async () => {
    server = await startPostgres();
    metadata = await PostgresMetadataStore.open({ url: server.url, schema: SCHEMA });
    fences = await taskFenceFor(metadata);
    sql = new pg.Client({ connectionString: server.url, options: `-c search_path=${SCHEMA}` });
    await sql.connect();

    const finished = Array.from({ length: FINISHED_RUNS }, (_, i) => `done-${i}`);
    await createRuns(finished, "succeeded");
    await createRuns(["live-1", "live-2"], "running");
    await createRuns(["waiting-1"], "queued");
    // Finished runs' fences all committed (as the executor leaves them), a few in flight held by workers.
    const done = await openFences(finished, FENCES_PER_RUN);
    await sql.query(
      `UPDATE task_fences SET state = 'committed', claim = 'p', worker = 'host/w', result = '{}'
      WHERE step_run_id = ANY($1::text[])`,
      [done],
    );
    await openFences(["live-1", "live-2", "waiting-1"], 4);
    await fences.claim("live-1:s0", "d1", "p1", "host/w1", 20);
    await fences.claim("live-2:s1", "d1", "p2", "host/w2", 10);
    await fences.claim("live-2:s2", "d1", "p3", "host/w2", 30);
    await sql.query(`ANALYZE runs; ANALYZE task_fences`);
  }, 120_000);
  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await fences?.close();
    await metadata?.close();
    await server?.stop();
  });

  it("finds the held fences and in-flight queues through task_fences_run, not a scan of the table", async () => {
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM task_fences`);
    expect(rows[0].n).toBe(FINISHED_RUNS * FENCES_PER_RUN + 12);
    readsThroughRunIndex(await planNodes(HELD_FENCES_SQL, [["cpu", "gpu"]]));
    readsThroughRunIndex(await planNodes(IN_FLIGHT_QUEUES_SQL));
  });

  it("answers as a read of the whole table does", async () => {
    const whole = await sql.query(
      `SELECT * FROM task_fences WHERE queue = ANY($1::text[]) AND state = 'running' ORDER BY updated_at`,
      [["cpu", "gpu"]],
    );
    const held = await fences.listRunning(["cpu", "gpu"]);
    expect(held.map((f) => [f.stepRunId, f.worker])).toEqual([
      ["live-2:s1", "host/w2"],
      ["live-1:s0", "host/w1"],
      ["live-2:s2", "host/w2"],
    ]);
    expect(held).toEqual(whole.rows.map(rowToFence));
    expect(await fences.listRunning(["gpu"])).toEqual(held.filter((f) => f.queue === "gpu"));
    const queues = await sql.query(`SELECT DISTINCT queue FROM task_fences ORDER BY queue`);
    expect(await fences.listQueues()).toEqual(queues.rows.map((r) => r.queue));
  });
});
