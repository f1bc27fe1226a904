/**
 * PostgreSQL's work for the metadata writes of a 1,000-step DAG (100 chains of 10) run through the
 * queue, replayed through the real stores without a queue or steps: the orchestrator opens fences and
 * records step runs (running, then succeeded with lineage and outputs), three workers claim tasks and
 * commit their results with their attempts and inline outputs, in batches of varying size. Prints the
 * WAL records and bytes, buffer accesses and row versions (HOT updates among them) of the second of two
 * runs, and the client-side time of each role: counts that do not depend on the machine's load.
 *
 *   npx tsx bench/queue-metadata-writes.ts
 */
import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import type { RecordBatch } from "../src/store/metadata-records.js";
import { PostgresMetadataStore } from "../src/store/postgres-metadata-store.js";
import { PostgresTaskFenceStore } from "../src/store/postgres-task-fence.js";
import { startPostgres } from "../test/support/postgres.js";
import { formatTable } from "./support/timing.js";

const CHAINS = 100;
const LENGTH = 10;
const EMPTY: RecordBatch = { stepRuns: [], attempts: [], logs: [], completions: [] };
const digestOf = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
const CODE = digestOf("step code").slice(7);

/** Batch sizes as the bench's queue run has them (1 to `most`), the same in every run. */
function batches<T>(items: T[], most: number, seed: { value: number }): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    seed.value = (seed.value * 1103515245 + 12345) % 2147483648;
    const size = 1 + (seed.value % most);
    out.push(items.slice(i, i + size));
    i += size;
  }
  return out;
}

async function replay(url: string, runId: string, time: Map<string, number>): Promise<void> {
  const orchestrator = await PostgresMetadataStore.open({ url });
  const fences = new PostgresTaskFenceStore(orchestrator);
  const workers = await Promise.all([0, 1, 2].map(() => PostgresMetadataStore.open({ url })));
  const workerFences = workers.map((w) => new PostgresTaskFenceStore(w));
  const timed = async (role: string, work: () => Promise<unknown>) => {
    const t0 = performance.now();
    await work();
    time.set(role, (time.get(role) ?? 0) + performance.now() - t0);
  };
  const seed = { value: 7 };
  const task = JSON.stringify({ runId, pad: "x".repeat(800) }); // an encoded task's usual size
  for (let s = 0; s < LENGTH; s++) {
    const now = Date.now();
    const steps = Array.from({ length: CHAINS }, (_, c) => {
      const id = `${runId}:c${c}_s${s}`;
      const inputs: Record<string, string> = s ? { x: digestOf(String(c + s - 1)) } : {};
      const record = {
        ...{ id, runId, stepId: `c${c}_s${s}`, itemIndex: -1, status: "running" as const, cached: false, attempts: 0 },
        ...{
          cacheKey: digestOf(id).slice(7),
          components: { engine: "1", code: CODE, version: "", params: {}, inputs },
        },
        ...{ startedAt: now, reason: "forced (--force)" },
      };
      const bytes = new TextEncoder().encode(String(c + s));
      const output = {
        record: { digest: digestOf(String(c + s)), kind: "json" as const, size: bytes.length, meta: {} },
        bytes,
      };
      return { c, id, record, attemptId: randomUUID(), claim: randomUUID(), output };
    });
    const art = (t: (typeof steps)[0]) => ({
      ...t.output,
      record: { ...t.output.record, createdAt: now, inline: true },
    });
    for (const part of batches(steps, 40, seed))
      await timed("orchestrator: fence opens", () =>
        fences.openMany(
          part.map((t) => ({ stepRunId: t.id, runId, attemptId: t.attemptId, jobId: `j-${t.id}`, queue: "q", task })),
          now,
        ),
      );
    // The bench's orchestrator commits about 60% of its running records before their completion.
    await timed("orchestrator: record batches", () =>
      orchestrator.writeBatch({ ...EMPTY, stepRuns: steps.slice(0, 60).map((t) => t.record) }),
    );
    for (const [i, part] of batches(steps, 18, seed).entries()) {
      const claims = part.map((t) => ({
        stepRunId: t.id,
        attemptId: t.attemptId,
        claim: t.claim,
        worker: `w${i % 3}`,
      }));
      await timed("workers: claims", () => workerFences[i % 3].claimMany(claims, now));
    }
    for (const [i, part] of batches(steps, 14, seed).entries()) {
      const result = (t: (typeof steps)[0]) => JSON.stringify({ status: "succeeded", output: { artifacts: [art(t)] } });
      const commits = part.map((t) => ({ stepRunId: t.id, attemptId: t.attemptId, claim: t.claim, result: result(t) }));
      const attempts = part.map((t) => ({
        ...{ stepRunId: t.id, attempt: 1, status: "succeeded" as const, startedAt: now, finishedAt: now },
      }));
      await timed("workers: commits with records", () =>
        workerFences[i % 3].commitManyWithRecords(commits, { ...EMPTY, attempts, artifacts: part.map(art) }, now),
      );
    }
    for (const part of batches(steps, 70, seed)) {
      const completions = part.map((t) => ({
        stepRun: {
          ...t.record,
          status: "succeeded" as const,
          attempts: 1,
          finishedAt: now,
          outputDigest: t.output.record.digest,
        },
        artifacts: [art(t)],
        lineage: [
          ...(s ? [{ digest: digestOf(String(t.c + s - 1)), direction: "in" as const, name: "x" }] : []),
          { digest: t.output.record.digest, direction: "out" as const, name: "output" },
        ].map((e) => ({ ...e, stepRunId: t.id, runId, stepId: t.record.stepId, reused: false })),
      }));
      await timed("orchestrator: record batches", () => orchestrator.writeBatch({ ...EMPTY, completions }));
    }
  }
  // Closed connections have reported their statistics.
  await Promise.all([orchestrator, ...workers].map((m) => m.close()));
}

const server = await startPostgres();
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const counters = async () => {
    await admin.query("SELECT pg_stat_clear_snapshot()");
    const wal = (await admin.query("SELECT wal_records, wal_bytes FROM pg_stat_wal")).rows[0];
    const db = (
      await admin.query(
        "SELECT blks_hit + blks_read AS blocks FROM pg_stat_database WHERE datname = current_database()",
      )
    ).rows[0];
    const tables = (await admin.query("SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"))
      .rows;
    const counts = new Map<string, number>([
      ["WAL records", Number(wal.wal_records)],
      ["WAL bytes", Number(wal.wal_bytes)],
      ["buffer accesses", Number(db.blocks)],
    ]);
    for (const t of tables)
      for (const k of ["n_tup_ins", "n_tup_upd", "n_tup_hot_upd"]) counts.set(`${t.relname} ${k}`, Number(t[k]));
    return counts;
  };
  await replay(server.url, "warm-up", new Map());
  await new Promise((r) => setTimeout(r, 1000));
  const before = await counters();
  const time = new Map<string, number>();
  await replay(server.url, "measured", time);
  await new Promise((r) => setTimeout(r, 1000));
  const after = await counters();
  const rows = [...after]
    .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
    .filter(([k, v]) => v > 0 && !k.includes("migrations"));
  console.log(`metadata writes of a ${CHAINS * LENGTH}-step queue DAG on PostgreSQL (second of two runs):`);
  console.log(formatTable([["counter", "count"], ...rows.map(([k, v]) => [k, String(v)])]));
  console.log(formatTable([["client time", "ms"], ...[...time].map(([k, v]) => [k, v.toFixed(1)])]));
  await admin.end();
} finally {
  await server.stop();
}
