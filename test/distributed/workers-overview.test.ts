/**
 * `trainyard workers` and GET /api/v1/workers on a one-machine cluster (Redis, PostgreSQL, real
 * `trainyard worker` processes): the workers listed on each queue with their slots, the task one
 * of them runs now with its step and worker, the queues' job counts; and, once the workers are
 * killed, a queue with a waiting task and no worker makes the command exit 1 and say what to do.
 * With the queues in PostgreSQL (BullMQ's PostgreSQL backend) the same, less what that store does not
 * tell (a worker's address and connection age): those are left out, never shown as a wrong value, by
 * the command, the API or the Workers screen (in headless Chromium).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, vi } from "vitest";
import type { ApiClient } from "../api/support.js";
import { openApiViolations, startApi, waitFor } from "../api/support.js";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { WorkersOverviewSchema } from "../../src/api/schemas.js";
import { startCli } from "../cli/support.js";
import { tempDir } from "../engine/support.js";
import { requireTools } from "../support/require-tool.js";
import { openBrowser, type UiBrowser } from "../ui/support/browser.js";
import { type Cluster, holdingPipeline, startCluster } from "./cluster.js";

vi.setConfig({ testTimeout: 90_000 });

const gate = requireTools("redis-server", "postgresql");
// The Workers screen is read here too, for what this store leaves out.
const pgGate = requireTools("postgresql", "chromium");

/** The document without what moves between two readings (ages, times). */
const steady = (doc: any) => ({
  ...doc,
  at: 0,
  queues: doc.queues.map((q: any) => ({
    ...q,
    workers: q.workers.map(({ connectedSeconds: _c, ...w }: any) => w),
    running: q.running.map(({ claimAgeMs: _c, heartbeatAgeMs: _h, ...t }: any) => t),
  })),
});

gate.describe("seeing workers and queues (trainyard workers, GET /api/v1/workers)", () => {
  let cluster: Cluster;
  let scratch: string;
  let home: string;
  beforeAll(async () => {
    cluster = await startCluster({ queue: "redis", store: "fs" });
    scratch = tempDir("ty-workers-");
    home = path.join(scratch, "cli-home");
    fs.mkdirSync(home);
  });
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const workersCli = (...args: string[]) =>
    startCli(["workers", "--config", cluster.config, ...args], home, { cwd: cluster.dir, env: cluster.cliEnv(home) })
      .done;

  function holding(name: string, pool: string) {
    const marks = path.join(scratch, `${name}.marks`);
    const release = path.join(scratch, `${name}.release`);
    const file = path.join(cluster.dir, `${name}.ts`);
    fs.writeFileSync(file, holdingPipeline(name, pool, marks, release));
    return { file, started: () => fs.existsSync(marks), release: () => fs.writeFileSync(release, "") };
  }

  gate.it(
    "lists each queue's workers with their slots, the running task and the job counts; the API agrees",
    async () => {
      await cluster.startWorker("cpu-a", { queues: ["cpu"], concurrency: 2 });
      await cluster.startWorker("gpu-b", { queues: ["gpu"], concurrency: 1 });
      const step = holding("held", "cpu");
      const ty: Trainyard = await cluster.orchestrator();
      let api: ApiClient | undefined;
      try {
        const running = ty.run(step.file, {});
        await waitFor("the held step to start on a worker", async () => step.started() || undefined, 60_000);

        const text = await workersCli("--queue", "cpu", "--queue", "gpu", "--queue", "default");
        expect(text.code, text.stderr).toBe(0);
        const cpuLabel = `${hostname()}/cpu-a`;
        const gpuLabel = `${hostname()}/gpu-b`;
        const cpuBlock = text.stdout.slice(text.stdout.indexOf("queue cpu"), text.stdout.indexOf("queue gpu"));
        expect(cpuBlock).toMatch(/queue cpu\s+waiting 0\s+active 1\s+delayed 0\s+failed 0/);
        expect(cpuBlock).toMatch(new RegExp(`${cpuLabel}\\s+2 slot\\(s\\)`));
        expect(cpuBlock).toMatch(new RegExp(`\\S+\\s+hold\\s+${cpuLabel}\\s+\\S+ ago\\s+\\S+ ago\\s+ok`));
        expect(cpuBlock).not.toContain(gpuLabel);
        expect(text.stdout).toMatch(
          new RegExp(`queue gpu[^\\n]*\\n\\s+1 worker\\(s\\), 1 slot\\(s\\)\\n\\s+${gpuLabel}`),
        );
        expect(text.stdout).toContain("queue default");

        const json = await workersCli("--json");
        expect(json.code, json.stderr).toBe(0);
        const doc = WorkersOverviewSchema.parse(JSON.parse(json.stdout));
        const byQueue = Object.fromEntries(doc.queues.map((q) => [q.queue, q]));
        expect(Object.keys(byQueue).sort()).toEqual(["cpu", "default"]);
        // gpu has no fence yet: it is shown when asked for.
        const asked = WorkersOverviewSchema.parse(JSON.parse((await workersCli("--json", "--queue", "gpu")).stdout));
        expect(asked.queues.map((q) => q.queue)).toEqual(["gpu"]);
        expect(asked.queues[0].workers).toMatchObject([{ label: gpuLabel, slots: 1 }]);
        expect(asked.queues[0]).toMatchObject({ slots: 1, running: [], unattended: false });

        expect(byQueue.cpu.workers).toMatchObject([{ label: cpuLabel, slots: 2 }]);
        expect(byQueue.cpu.workers[0].address).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(byQueue.cpu.counts).toEqual({ waiting: 0, active: 1, delayed: 0, failed: 0 });
        expect(byQueue.cpu.running).toHaveLength(1);
        const [held] = byQueue.cpu.running;
        expect(held).toMatchObject({ stepId: "hold", worker: cpuLabel, possiblyLost: false });
        expect((await ty.metadata.getRun(held.runId))?.pipeline).toBe("held");
        expect(held.heartbeatAgeMs).toBeLessThan(doc.lockMs!);
        expect(cpuBlock).toContain(held.runId);
        expect(byQueue.default).toMatchObject({ workers: [], running: [], unattended: false });
        expect(doc.problems).toEqual([]);

        api = await startApi(ty, { modules: [] });
        const served = await api.get("workers", "/workers?queue=default,cpu");
        expect(served.status).toBe(200);
        expect(steady(served.body)).toEqual(steady(doc));
        expect(openApiViolations(api)).toEqual([]);

        // A worker that stops answering (stopped here, as a hung machine would) is flagged after the lock time.
        const cpuWorker = cluster.workers.find((w) => w.id === "cpu-a")!;
        cpuWorker.child.kill("SIGSTOP");
        try {
          await new Promise((r) => setTimeout(r, doc.lockMs! + 700));
          const stalled = await workersCli("--queue", "cpu");
          expect(stalled.stdout).toMatch(new RegExp(`hold\\s+${cpuLabel}\\s+\\S+ ago\\s+\\S+ ago\\s+possibly lost`));
        } finally {
          cpuWorker.child.kill("SIGCONT");
        }
        step.release();
        expect((await running).status).toBe("succeeded");
      } finally {
        await api?.server.close();
        await ty.close();
      }
    },
  );

  // Before, only BullMQ's bare "IMPORTANT! Eviction policy is allkeys-lru" line, once per connection,
  // and nothing at all about a Redis without an append-only file.
  gate.it("exits 1 and says what to set when Redis evicts keys or keeps no append-only file", async () => {
    const redisCli = (...args: string[]) =>
      execFileSync("redis-cli", ["-p", String(cluster.redis!.port), ...args], { encoding: "utf8" });
    redisCli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    redisCli("CONFIG", "SET", "appendonly", "no");
    const told: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: any, ...rest: any[]) => {
      told.push(String(chunk));
      return write(chunk, ...rest);
    });
    const ty = await cluster.orchestrator();
    try {
      const eviction = /the queue store at redis:\/\/[^ ]+ evicts keys when full \(maxmemory-policy allkeys-lru\)/;
      const snapshot = /the queue store at redis:\/\/[^ ]+ keeps no append-only file \(appendonly no\)/;
      const text = await workersCli("--queue", "risky");
      expect(text.code, text.stderr).toBe(1);
      expect(text.stdout).toMatch(eviction);
      expect(text.stdout).toContain("set `maxmemory-policy noeviction`");
      expect(text.stdout).toMatch(snapshot);
      expect(text.stdout).toContain("set `appendonly yes`");
      const json = JSON.parse((await workersCli("--json", "--queue", "risky")).stdout);
      expect(json.problems).toHaveLength(2);

      const worker = await cluster.startWorker("risky", { queues: ["risky"] });
      await waitFor("the worker's warnings", async () =>
        eviction.test(worker.output()) && snapshot.test(worker.output()) ? true : undefined,
      );
      expect(worker.output()).toMatch(/warning: the queue store/);

      const step = holding("risky-run", "risky");
      step.release();
      expect((await ty.run(step.file, {})).status).toBe("succeeded");
      await waitFor("the run's warnings", async () =>
        told.some((l) => l.startsWith("trainyard: warning:") && eviction.test(l)) ? true : undefined,
      );
      expect(told.filter((l) => eviction.test(l))).toHaveLength(1);
      expect(told.some((l) => snapshot.test(l))).toBe(true);
      // Said once per process: a second run is quiet.
      expect((await ty.run(step.file, { force: true })).status).toBe("succeeded");
      expect(told.filter((l) => eviction.test(l))).toHaveLength(1);
    } finally {
      spy.mockRestore();
      redisCli("CONFIG", "SET", "maxmemory-policy", "noeviction");
      redisCli("CONFIG", "SET", "appendonly", "yes");
      await ty.close();
    }
    expect((await workersCli("--queue", "risky")).code).toBe(0);
  });

  gate.it("exits 1 and names the queue when a task waits on a queue no worker takes from", async () => {
    for (const w of cluster.workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
    await Promise.all(cluster.workers.map((w) => w.exited));
    const step = holding("orphaned", "orphan");
    const ty = await cluster.orchestrator();
    const abort = new AbortController();
    try {
      let failed: unknown;
      const running = ty.run(step.file, { signal: abort.signal }).catch((e: unknown) => (failed = e));
      // The killed workers' connections close with them: Redis no longer lists them.
      const r = await waitFor("the orphaned task to wait", async () => {
        if (failed) throw failed;
        const res = await workersCli("--json");
        const doc = JSON.parse(res.stdout);
        const orphan = doc.queues.find((q: { queue: string }) => q.queue === "orphan");
        const listed = doc.queues.some((q: { workers: unknown[] }) => q.workers.length);
        return orphan?.counts.waiting === 1 && !listed ? { res, doc } : undefined;
      });
      expect(r.res.code).toBe(1);
      expect(r.doc.queues.find((q: { queue: string }) => q.queue === "orphan")).toMatchObject({ unattended: true });
      const text = await workersCli();
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(
        'queue "orphan" has 1 waiting task(s) and no worker: start one with `trainyard worker --queue orphan`',
      );
      // A queue asked for alone that has no waiting task is no reason to alert.
      expect((await workersCli("--queue", "cpu")).code).toBe(0);
      // A queue store that does not answer is named, not waited for forever.
      const down = await workersCli("--redis", "redis://127.0.0.1:9", "--queue", "cpu");
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/QUEUE_UNAVAILABLE[\s\S]*redis:\/\/127\.0\.0\.1:9/);
      expect(step.started()).toBe(false);
      abort.abort(new Error("test over"));
      await running;
    } finally {
      await ty.close();
    }
  });

  gate.it("says that no queue executor is configured, and exits 0, for a home that runs steps locally", async () => {
    const local = path.join(scratch, "local-home");
    fs.mkdirSync(local);
    const r = await startCli(["workers", "--json"], local, { cwd: scratch }).done;
    expect(r.code, r.stderr).toBe(0);
    const doc = WorkersOverviewSchema.parse(JSON.parse(r.stdout));
    expect(doc).toMatchObject({ queueExecutor: false, queues: [], problems: [] });
    expect(doc.note).toMatch(/no queue executor is configured/);
  });
});

pgGate.describe("seeing workers on queues in PostgreSQL (trainyard workers, GET /api/v1/workers)", () => {
  let cluster: Cluster;
  let scratch: string;
  let b: UiBrowser;
  beforeAll(async () => {
    [cluster, b] = await Promise.all([startCluster({ queue: "postgres", store: "fs" }), openBrowser()]);
    scratch = tempDir("ty-workers-pg-");
  });
  afterAll(async () => {
    await b?.close();
    await cluster?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  pgGate.it("lists the worker with its slots and the task it holds; no address or connection age", async () => {
    const home = path.join(scratch, "cli-home");
    fs.mkdirSync(home);
    const workersCli = (...args: string[]) =>
      startCli(["workers", "--config", cluster.config, ...args], home, { cwd: cluster.dir, env: cluster.cliEnv(home) })
        .done;
    const marks = path.join(scratch, "held.marks");
    const release = path.join(scratch, "held.release");
    const file = path.join(cluster.dir, "held.ts");
    fs.writeFileSync(file, holdingPipeline("held", "cpu", marks, release));
    const [, ty] = await Promise.all([
      cluster.startWorker("pg-a", { queues: ["cpu"], concurrency: 2 }),
      cluster.orchestrator(),
    ]);
    let api: ApiClient | undefined;
    /** The Workers screen's rows for queue cpu's workers, as cell texts. */
    const workerRowsOnScreen = async (url: string) => {
      await b.page.goto(url);
      const workers = b.page.getByRole("region", { name: "queue cpu" }).getByTestId("queue-workers");
      await workers.waitFor();
      return workers
        .locator("tbody tr")
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    };
    try {
      const running = ty.run(file, {});
      await waitFor("the held step to start on the worker", async () => fs.existsSync(marks) || undefined, 60_000);
      const label = `${hostname()}/pg-a`;
      // The task stays held throughout: the command's two forms, the API and the screen (which the API
      // server serves too) are read at once.
      api = await startApi(ty, { modules: [] });
      const [json, text, served, screenRows] = await Promise.all([
        workersCli("--json", "--queue", "cpu"),
        workersCli("--queue", "cpu"),
        api.get("workers", "/workers?queue=cpu"),
        workerRowsOnScreen(`${api.url}/workers`),
      ]);
      expect(json.code, json.stderr).toBe(0);
      const doc = WorkersOverviewSchema.parse(JSON.parse(json.stdout));
      expect(doc.queueStore).toMatch(/^postgres:\/\/[^/]*127\.0\.0\.1:\d+\//);
      expect(doc.queues.map((q) => q.queue)).toEqual(["cpu"]);
      const [cpu] = doc.queues;
      expect(cpu.counts).toEqual({ waiting: 0, active: 1, delayed: 0, failed: 0 });
      expect(cpu).toMatchObject({ slots: 2, unattended: false });
      // The store names its workers' connections and nothing more: no address, no age, not a made-up one.
      expect(cpu.workers).toEqual([{ label, slots: 2 }]);
      expect(cpu.running).toHaveLength(1);
      const [held] = cpu.running;
      expect(held).toMatchObject({ stepId: "hold", worker: label, possiblyLost: false });
      expect((await ty.metadata.getRun(held.runId))?.pipeline).toBe("held");
      expect(held.heartbeatAgeMs).toBeLessThan(doc.lockMs!);
      expect(doc.problems).toEqual([]);

      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).not.toMatch(/undefined|NaN|null/);
      expect(text.stdout).toMatch(/queue cpu\s+waiting 0\s+active 1\s+delayed 0\s+failed 0/);
      // The worker's line ends at its slots: the columns the store cannot fill say nothing.
      const workerLine = text.stdout.split("\n").find((l) => l.includes(label) && l.includes("slot(s)"));
      expect(workerLine?.trim()).toBe(`${label}  2 slot(s)`);
      expect(text.stdout).toMatch(new RegExp(`${held.runId}\\s+hold\\s+${label}\\s+\\S+ ago\\s+\\S+ ago\\s+ok`));

      expect(served.status).toBe(200);
      expect(steady(served.body)).toEqual(steady(doc));
      expect(served.body.queues[0].workers[0]).not.toHaveProperty("address");
      expect(served.body.queues[0].workers[0]).not.toHaveProperty("connectedSeconds");
      expect(openApiViolations(api)).toEqual([]);

      // The screen's columns the store cannot fill read "—".
      expect(screenRows).toEqual([[label, "2", "—", "—"]]);
      expect(b.errors).toEqual([]);

      fs.writeFileSync(release, "");
      expect((await running).status).toBe("succeeded");
    } finally {
      fs.writeFileSync(release, "");
      await api?.server.close();
      await ty.close();
    }
  });
});
