/**
 * `trainyard worker --health-port`: a real worker process answers /healthz while its event loop
 * keeps time and /readyz while it reaches the queues (Redis), the metadata (PostgreSQL) and the
 * object store (fauxqs, an S3 emulator that also aborts uploads in parts); each store stopped
 * turns /readyz to 503 naming it. A stalled event loop turns /healthz to 503 (the server
 * in-process, its loop blocked for real). At start the worker aborts the uploads in parts that a
 * killed worker of its home left open on the object store.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerHealthServer } from "../../src/distributed/worker-health-server.js";
import { BIN } from "../cli/support.js";
import { tempDir, waitFor } from "../engine/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { requireTools } from "../support/require-tool.js";
import { freePort, plantAbandonedUpload, type S3Emulator, startFauxqs } from "../support/s3.js";

async function get(port: number, route: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const gate = requireTools("redis-server", "postgresql");
gate.describe("trainyard worker --health-port (a real worker process)", () => {
  let root: string;
  let redis: TestRedis;
  let postgres: TestPostgres;
  let s3: S3Emulator;
  let worker: ChildProcess;
  let stderr = "";
  let port = 0;

  beforeAll(async () => {
    root = tempDir("ty-probes-");
    [redis, postgres, s3] = await Promise.all([startRedis(), startPostgres(), startFauxqs()]);
    const config = path.join(root, "trainyard.config.mjs");
    const artifacts = { kind: "s3", url: "s3://artifacts/probes", endpoint: s3.endpoint, forcePathStyle: true };
    const stores = { metadata: { kind: "postgres", url: postgres.url }, artifacts, executor: { kind: "queue" } };
    fs.writeFileSync(
      config,
      `export default ${JSON.stringify({ ...stores, executor: { kind: "queue", redis: redis.url } })};\n`,
    );
    const home = path.join(root, "home");
    await plantAbandonedUpload(s3, path.join(home, "object-cache", ".uploads"), "probes/objects/left-open");
    const healthPort = await freePort();
    worker = spawn(
      process.execPath,
      [BIN, "worker", "--config", config, "--home", home, "--health-port", String(healthPort)],
      {
        cwd: root,
        env: {
          ...process.env,
          NO_COLOR: "1",
          TRAINYARD_HOME: home,
          TRAINYARD_CACHE_DIR: path.join(home, "cache"),
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    worker.stderr!.on("data", (d) => (stderr += d));
    await waitFor(() => / takes /.test(stderr) || worker.exitCode !== null, "the worker to start", 60_000);
    const printed = /health probes on port (\d+)/.exec(stderr);
    if (!printed) throw new Error(`the worker printed no health port:\n${stderr}`);
    port = Number(printed[1]);
  }, 120_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const gone = new Promise((r) => worker.once("exit", r));
      worker.kill("SIGKILL");
      await gone;
    }
    await Promise.all([redis?.stop(), postgres?.stop(), s3?.stop()]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  gate.it("aborts at start the uploads in parts a killed worker of its home left open", async () => {
    await waitFor(() => /aborted 1 upload in parts/.test(stderr), "the worker to abort the upload", 30_000);
    expect(fs.readdirSync(path.join(root, "home", "object-cache", ".uploads"))).toEqual([]);
  });

  gate.it(
    "is alive and ready while every store answers; each stopped store makes it unready by name",
    async () => {
      const healthy = await get(port, "/healthz");
      expect(healthy.status).toBe(200);
      expect(healthy.body.worker).toMatch(/\/w-[0-9a-f]+$/);
      const ready = await get(port, "/readyz");
      expect(ready.body.checks).toEqual({ queue: "ok", metadata: "ok", artifacts: "ok" });
      expect(ready.status).toBe(200);
      expect((await get(port, "/nowhere")).status).toBe(404);

      await s3.stop();
      const noStore = await get(port, "/readyz");
      expect(noStore.status).toBe(503);
      expect(noStore.body.checks.artifacts).not.toBe("ok");
      expect(noStore.body.checks).toMatchObject({ queue: "ok", metadata: "ok" });

      await redis.halt({ kill: true });
      const noQueue = await get(port, "/readyz");
      expect(noQueue.status).toBe(503);
      expect(noQueue.body.checks.queue).not.toBe("ok");
      expect(noQueue.body.checks.metadata).toBe("ok");

      await postgres.stop();
      const nothing = await get(port, "/readyz");
      expect(nothing.status).toBe(503);
      expect(nothing.body.checks.metadata).not.toBe("ok");
      // Unready is not dead: the process stays alive, so an orchestrator waits rather than restarts it.
      expect((await get(port, "/healthz")).status).toBe(200);

      await redis.start();
      await waitFor(async () => (await get(port, "/readyz")).body.checks.queue === "ok", "the queue to answer again");
    },
    120_000,
  );
});

describe("the worker's /healthz with its event loop blocked", () => {
  it("answers 503 after a stall longer than the limit", async () => {
    const target = { label: "host/w-loop", running: 0, readiness: async () => ({}) };
    const server = await startWorkerHealthServer(target, { port: 0, host: "127.0.0.1", stuckAfterMs: 300 });
    try {
      expect((await get(server.port, "/healthz")).status).toBe(200);
      const until = Date.now() + 800;
      while (Date.now() < until) {
        // the loop is blocked for real: no timer fires, no request is answered
      }
      const stalled = await get(server.port, "/healthz");
      expect(stalled.status).toBe(503);
      expect(stalled.body.loopLagMs).toBeGreaterThan(300);
      expect((await get(server.port, "/readyz")).status).toBe(503);
    } finally {
      await server.close();
    }
  });
});
