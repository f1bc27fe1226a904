/**
 * Removing the task fences of finished runs (what `trainyard gc` does), on SQLite and PostgreSQL:
 * the time to remove N fences in statements of 1,000 rows, and how long a worker's claim on a live
 * run's fence waits meanwhile (the reason for the chunks). `FENCES=N` sets the size (default 50,000).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MetadataStore } from "../src/store/metadata-store.js";
import { PostgresMetadataStore } from "../src/store/postgres-metadata-store.js";
import { SqliteMetadataStore } from "../src/store/sqlite-metadata-store.js";
import type { OpenFence, TaskFenceStore } from "../src/store/task-fence.js";
import { taskFenceFor } from "../src/store/task-fence-for.js";
import { postgresAvailable, startPostgres } from "../test/support/postgres.js";

const FENCES = Number(process.env.FENCES ?? 50_000);
const RUNS = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

async function measure(name: string, metadata: MetadataStore): Promise<void> {
  const fences: TaskFenceStore = await taskFenceFor(metadata);
  const run = (id: string, status: "succeeded" | "running") => ({
    ...{ id, pipeline: "bench", modulePath: "bench.ts", params: {}, trigger: "manual", status },
    ...{ codeVersion: "c", createdAt: Date.now(), options: {} },
  });
  await metadata.upsertPipeline("bench", "bench.ts");
  const done = Array.from({ length: RUNS }, (_, i) => `done-${i}`);
  for (const id of done) await metadata.createRun(run(id, "succeeded"));
  await metadata.createRun(run("live", "running"));
  const task = JSON.stringify({ pad: "x".repeat(600) }); // about the size of an encoded StepTask
  for (let start = 0; start < FENCES; start += 5000) {
    const batch: OpenFence[] = [];
    for (let i = start; i < Math.min(FENCES, start + 5000); i++)
      batch.push({
        stepRunId: `${done[i % RUNS]}:s${i}`,
        runId: done[i % RUNS],
        attemptId: "a",
        jobId: `j${i}`,
        queue: "q",
        task,
      });
    await fences.openMany(batch, Date.now());
  }
  const live = Array.from({ length: 2000 }, (_, i) => ({
    ...{ stepRunId: `live:s${i}`, runId: "live", attemptId: "a", jobId: `l${i}`, queue: "q", task },
  }));
  await fences.openMany(live, Date.now());

  let removing = true;
  const waits: number[] = [];
  const claims = (async () => {
    for (let i = 0; removing && i < live.length; i++) {
      const t = performance.now();
      await fences.claim(`live:s${i}`, "a", `p${i}`, "bench/w", Date.now());
      waits.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const started = performance.now();
  const removed = await fences.removeRunFences(done);
  const ms = performance.now() - started;
  removing = false;
  await claims;
  waits.sort((a, b) => a - b);
  const left = (await fences.listRun("live")).length;
  const perThousand = ((ms / removed) * 1000).toFixed(1);
  const [p50, p99, max] = [percentile(waits, 0.5), percentile(waits, 0.99), waits.at(-1) ?? 0].map((v) => v.toFixed(2));
  console.log(
    `${name}: removed ${removed} fences in ${ms.toFixed(0)} ms (${perThousand} ms per 1,000), live run's fences` +
      ` kept: ${left}; ${waits.length} claims meanwhile: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`,
  );
  await fences.close();
}

const dir = mkdtempSync(join(tmpdir(), "ty-bench-fence-gc-"));
try {
  const sqlite = new SqliteMetadataStore(join(dir, "metadata.db"));
  await measure("sqlite", sqlite);
  await sqlite.close();
  if (postgresAvailable()) {
    const server = await startPostgres();
    try {
      const pg = await PostgresMetadataStore.open({ url: server.url, schema: "bench" });
      await measure("postgres", pg);
      await pg.close();
    } finally {
      await server.stop();
    }
  } else console.log("postgres: not measured (no PostgreSQL server on this machine)");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
