/**
 * PostgreSQL answers lost after the server committed: the connection drops before the answer comes
 * back, and the client sends the statement again on a new connection (postgres-reconnect.ts). First a
 * worker's commit: the step's log lines are recorded once, and the worker knows its commit landed
 * rather than reporting its result dropped. Then every sixth answer of every statement, the
 * orchestrator's and two workers' alike, lost through a whole run: it succeeds with each step committed
 * once and each log line recorded once. Then the same with the queues in PostgreSQL too, so that BullMQ's
 * own statements lose answers as well, at random; and with the queues in Redis, whose replies are lost
 * at random after it ran the commands. Real Redis and PostgreSQL, `trainyard worker` processes, and a
 * loopback proxy in front of the server that loses the answers.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { AnswerDroppingProxy } from "../support/answer-dropping-proxy.js";
import { requireTools } from "../support/require-tool.js";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { type Cluster, type ClusterWorker, startCluster } from "./cluster.js";
import { expectRunIntact } from "./run-integrity.js";

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

const CHAINS = 6;
const LENGTH = 5;

/** CHAINS chains of LENGTH steps, each logging one line. */
function chainsModule(): string {
  const lines = ['import { pipeline } from "trainyard";', 'const p = pipeline("lost-answers", {});'];
  for (let c = 0; c < CHAINS; c++)
    for (let s = 0; s < LENGTH; s++) {
      const id = `c${c}s${s}`;
      const inputs = s ? `{ x: c${c}s${s - 1} }` : "{}";
      const run = `(ctx, { x }) => (ctx.log("ran ${id}"), (x ?? 0) + 1)`;
      lines.push(`const ${id} = p.step("${id}", { inputs: ${inputs}, run: ${run} });`);
    }
  lines.push("export default p;");
  return `${lines.join("\n")}\n`;
}

/**
 * One run of chainsModule's pipeline, losing answers from `lose()` until it ends: it succeeds, and
 * each step is committed once, run once (one attempt) and has its one line logged once.
 */
async function runLosing(ty: Trainyard, file: string, proxy: AnswerDroppingProxy, lose: () => () => void) {
  const dropped = proxy.dropped;
  const stop = lose();
  const run = await ty.run(file, { concurrency: 4, force: true });
  stop();
  expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
  expect(await expectRunIntact(ty, run.runId)).toHaveLength(CHAINS * LENGTH);
  for (let c = 0; c < CHAINS; c++)
    for (let s = 0; s < LENGTH; s++) {
      const id = `${run.runId}:c${c}s${s}`;
      expect((await ty.metadata.getLogs(id)).map((l) => l.line)).toEqual([`ran c${c}s${s}`]);
      expect((await ty.metadata.listAttempts(id)).map((a) => a.status)).toEqual(["succeeded"]);
    }
  return proxy.dropped - dropped;
}

/** Three runs, each losing answers at random with probability `p` (seeds 1-3): at least `atLeast` lost in each. */
async function runsLosingAtRandom(ty: Trainyard, file: string, proxy: AnswerDroppingProxy, p: number, atLeast: number) {
  for (const seed of [1, 2, 3]) {
    const lost = await runLosing(ty, file, proxy, () => {
      proxy.dropRandomly(p, seed);
      return () => proxy.dropRandomly(0);
    });
    expect(lost, `answers lost during the run of seed ${seed}`).toBeGreaterThanOrEqual(atLeast);
  }
}

const gate = requireTools("redis-server", "postgresql");
gate.describe("PostgreSQL answers lost after the server committed", () => {
  let cluster: Cluster;
  let proxy: AnswerDroppingProxy;
  let proxied: string;
  let worker: ClusterWorker;
  beforeAll(async () => {
    cluster = await startCluster({ store: "fs" });
    const url = new URL(cluster.postgres.url);
    proxy = await AnswerDroppingProxy.start({ host: url.hostname, port: Number(url.port) });
    url.port = String(proxy.port);
    proxied = url.href;
    worker = await cluster.startWorker("w1", { args: ["--metadata-url", proxied] });
  });
  afterAll(async () => {
    await cluster?.stop();
    await proxy?.stop();
  });

  gate.it("a worker's commit: sent again, it lands once; each log line recorded once, no result dropped", async () => {
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

  gate.it(
    "every sixth answer lost, at each of the six phases: each step committed once, each line logged once",
    async () => {
      const second = await cluster.startWorker("w2", { args: ["--metadata-url", proxied] });
      const file = path.join(cluster.dir, "lost-answers.ts");
      fs.writeFileSync(file, chainsModule());
      const ty = await cluster.orchestrator({ metadataUrl: proxied });
      try {
        // Each phase loses the answers of other statements: together, every statement's answer is lost in some run.
        for (let phase = 0; phase < 6; phase++) {
          const lost = await runLosing(ty, file, proxy, () => {
            proxy.dropEvery(6, phase);
            return () => proxy.dropEvery(0);
          });
          expect(lost, "answers lost during the run").toBeGreaterThanOrEqual(8);
        }
        expect(`${worker.output()}${second.output()}`).not.toMatch(/dropped/);
      } finally {
        await ty.close();
      }
    },
  );
});

gate.describe("PostgreSQL answers lost, with the queues in PostgreSQL too", () => {
  let cluster: Cluster;
  let proxy: AnswerDroppingProxy;
  let proxied: string;
  beforeAll(async () => {
    cluster = await startCluster({ store: "fs", queue: "postgres" });
    const url = new URL(cluster.postgres.url);
    proxy = await AnswerDroppingProxy.start({ host: url.hostname, port: Number(url.port) });
    url.port = String(proxy.port);
    proxied = url.href;
    for (const id of ["w1", "w2"])
      await cluster.startWorker(id, { args: ["--metadata-url", proxied, "--postgres", proxied] });
  });
  afterAll(async () => {
    await cluster?.stop();
    await proxy?.stop();
  });

  gate.it(
    "answers of BullMQ's statements and ours lost at random: each step committed once, each line logged once",
    async () => {
      const file = path.join(cluster.dir, "lost-answers-pg-queues.ts");
      fs.writeFileSync(file, chainsModule());
      const ty = await cluster.orchestrator({ metadataUrl: proxied, queueUrl: proxied });
      try {
        // Before, a connection lost under BullMQ's own statements failed the run, and one lost during the queues'
        // first connect (which checks BullMQ's schema) failed every later statement and ended the process with an
        // unheard error event. The first run opens the orchestrator's queues: the check's answer is lost.
        proxy.dropAnswerTo("FROM migration");
        expect((await ty.run(file, { concurrency: 4 })).status).toBe("succeeded");
        expect(proxy.dropped).toBe(1);
        await runsLosingAtRandom(ty, file, proxy, 1 / 10, 8);
        for (const w of cluster.workers) expect(w.child.exitCode, w.output()).toBeNull();
      } finally {
        await ty.close();
      }
    },
    180_000,
  );
});

gate.describe("Redis replies lost after the server ran the commands", () => {
  let cluster: Cluster;
  let proxy: AnswerDroppingProxy;
  let proxied: string;
  beforeAll(async () => {
    cluster = await startCluster({ store: "fs" });
    proxy = await AnswerDroppingProxy.start({ host: "127.0.0.1", port: cluster.redis!.port }, "redis");
    proxied = `redis://127.0.0.1:${proxy.port}`;
    for (const id of ["w1", "w2"]) await cluster.startWorker(id, { args: ["--redis", proxied] });
  });
  afterAll(async () => {
    await cluster?.stop();
    await proxy?.stop();
  });

  gate.it(
    "BullMQ's commands answered or not at random, sent again on reconnect: each step committed once",
    async () => {
      const file = path.join(cluster.dir, "lost-replies.ts");
      fs.writeFileSync(file, chainsModule());
      const ty = await cluster.orchestrator({ queueUrl: proxied });
      try {
        expect((await ty.run(file, { concurrency: 4 })).status).toBe("succeeded");
        await runsLosingAtRandom(ty, file, proxy, 1 / 12, 5);
        for (const w of cluster.workers) expect(w.child.exitCode, w.output()).toBeNull();
      } finally {
        await ty.close();
      }
    },
    180_000,
  );
});
