/**
 * Runs through the queue executor on a one-machine cluster (Redis, PostgreSQL, artifacts in S3 on
 * an emulator, worker processes with their own homes and caches), compared with a local run.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { tempDir } from "../engine/support.js";
import { netnsAvailable } from "../support/netns.js";
import { requireTools } from "../support/require-tool.js";
import { type Cluster, startCluster } from "./cluster.js";

const PIPELINE = `
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "trainyard";
const p = pipeline("fanout", {});
const source = p.step("source", { run: () => ({ rows: Array.from({ length: 50 }, (_, i) => i) }) });
const double = p.step("double", { inputs: { s: source }, run: (_ctx, { s }) => s.rows.map((r) => r * 2) });
const square = p.step("square", { inputs: { s: source }, run: (_ctx, { s }) => s.rows.map((r) => r * r) });
p.step("total", {
  inputs: { d: double, q: square },
  run: (ctx, { d, q }) => {
    ctx.log("summing");
    const sum = d.reduce((a, b) => a + b, 0) + q.reduce((a, b) => a + b, 0);
    writeFileSync(join(ctx.workdir, "sum.txt"), String(sum));
    return { sum, file: ctx.file("sum.txt") };
  },
});
export default p;
`;

const gate = requireTools("redis-server", "postgresql");
const netns = netnsAvailable();
const mode = netns ? "each worker in its own network namespace" : "plain processes: not root, no network namespaces";
gate.describe(`queue executor on a one-machine cluster, artifacts in S3 (${mode})`, () => {
  let cluster: Cluster;
  let keysBefore: string | undefined;
  beforeAll(async () => {
    keysBefore = process.env.AWS_ACCESS_KEY_ID;
    cluster = await startCluster({ netns, store: "s3" });
    await Promise.all(["w1", "w2", "w3"].map((id) => cluster.startWorker(id)));
  });
  afterAll(async () => cluster?.stop());

  gate.it("gives the emulator's keys to the orchestrator's options and the workers, not to this process", () => {
    expect(process.env.AWS_ACCESS_KEY_ID).toBe(keysBefore);
    expect(process.env.AWS_SECRET_ACCESS_KEY).not.toBe(cluster.s3!.credentials.secretAccessKey);
  });

  gate.it("runs every step on the workers and stores the outputs a local run gives", async () => {
    const file = path.join(cluster.dir, "fanout.ts");
    fs.writeFileSync(file, PIPELINE);
    const ty = await cluster.orchestrator();
    try {
      const result = await ty.run(file, { concurrency: 4 });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe("succeeded");
      const out = (await ty.output(result.runId, "total")) as { sum: number; file: { path: string } };
      expect(out.sum).toBe(2 * 1225 + 40425);
      expect(fs.readFileSync(out.file.path, "utf8")).toBe(String(2 * 1225 + 40425));
      // Every step ran on a worker, none in the orchestrating process.
      const ran = cluster.workers.map((w) => w.output()).join("");
      for (const step of ["source", "double", "square", "total"])
        expect(ran).toMatch(new RegExp(`succeeded ${result.runId} ${step}\\b`));
      // The same outputs (same digests) as a run on this machine's local executor.
      const home = tempDir("ty-local-");
      const local = await Trainyard.open({ home });
      try {
        const localRun = await local.run(file, { concurrency: 4 });
        const digests = async (t: Trainyard, runId: string) =>
          Object.fromEntries((await t.metadata.listStepRuns(runId)).map((s) => [s.stepId, s.outputDigest]));
        expect(await digests(ty, result.runId)).toEqual(await digests(local, localRun.runId));
      } finally {
        await local.close();
        fs.rmSync(home, { recursive: true, force: true });
      }
      // Logs came back into the run's record.
      const logs = await ty.metadata.getLogs(`${result.runId}:total`);
      expect(logs.map((l) => l.line)).toContain("summing");
    } finally {
      await ty.close();
    }
  });
});
