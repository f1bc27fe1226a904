/**
 * A worker's commit whose answer was lost: PostgreSQL committed the step's records and its fence, then
 * the connection dropped before the answer came back. The worker sends the statement again on a new
 * connection (postgres-reconnect.ts); the step's log lines are recorded once, and the worker knows its
 * commit landed rather than reporting its result dropped. Real Redis and PostgreSQL, and a
 * `trainyard worker` process whose metadata connections go through a loopback proxy that loses that one
 * answer.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { AnswerDroppingProxy } from "../support/answer-dropping-proxy.js";
import { requireTools } from "../support/require-tool.js";
import { type Cluster, type ClusterWorker, startCluster } from "./cluster.js";

const PIPELINE = `
import { pipeline } from "trainyard";
const p = pipeline("lost-answer", {});
const source = p.step("source", {
  run: (ctx) => {
    for (const n of [1, 2, 3]) ctx.log("source line " + n);
    return { n: 20 };
  },
});
p.step("double", { inputs: { s: source }, run: (ctx, { s }) => (ctx.log("doubling"), s.n * 2) });
export default p;
`;

const gate = requireTools("redis-server", "postgresql");
gate.describe("a worker's commit whose answer was lost", () => {
  let cluster: Cluster;
  let proxy: AnswerDroppingProxy;
  let worker: ClusterWorker;
  beforeAll(async () => {
    cluster = await startCluster({ store: "fs" });
    const url = new URL(cluster.postgres.url);
    proxy = await AnswerDroppingProxy.start({ host: url.hostname, port: Number(url.port) });
    url.port = String(proxy.port);
    worker = await cluster.startWorker("w1", { args: ["--metadata-url", url.href] });
  });
  afterAll(async () => {
    await cluster?.stop();
    await proxy?.stop();
  });

  gate.it("is sent again and lands once: each log line recorded once, no result dropped", async () => {
    const file = path.join(cluster.dir, "lost-answer.ts");
    fs.writeFileSync(file, PIPELINE);
    const ty = await cluster.orchestrator();
    try {
      proxy.dropAnswerTo("trainyard.fence-commit-with-records");
      const run = await ty.run(file);
      expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
      expect(proxy.dropped).toBe(1);
      const lines = async (step: string) => (await ty.metadata.getLogs(`${run.runId}:${step}`)).map((l) => l.line);
      expect(await lines("source")).toEqual(["source line 1", "source line 2", "source line 3"]);
      expect(await lines("double")).toEqual(["doubling"]);
      expect((await ty.metadata.listAttempts(`${run.runId}:source`)).map((a) => a.status)).toEqual(["succeeded"]);
      expect(worker.output()).not.toMatch(/dropped/);
      expect(await ty.output(run.runId, "double")).toBe(40);
    } finally {
      await ty.close();
    }
  });
});
