/**
 * Task batches: which tasks share a queue job (history only, never across queues, parallelism
 * kept), and, on a one-machine cluster (Redis, PostgreSQL, worker processes), that they are sized by
 * the workers' slots (within a concurrency the run was given, never the orchestrator's CPUs), a batch keeps
 * every per-task guarantee: a worker killed with -9 mid-batch loses nothing and commits nothing
 * twice, `trainyard resume` reattaches to a batch, cancellation reaches every task of a batch, and
 * logs come back per task.
 */
import fs from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { JOBS_PER_SLOT, MAX_BATCH, planBatches, TaskDurations } from "../../src/distributed/task-batches.js";
import type { RunEvent } from "../../src/engine/events.js";
import type { StepTask } from "../../src/engine/step-task.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { startCli } from "../cli/support.js";
import { tempDir, waitFor } from "../engine/support.js";
import { requireTools } from "../support/require-tool.js";
import { type Cluster, startCluster } from "./cluster.js";
import { expectRunIntact } from "./run-integrity.js";

const task = (stepId: string, queue = "default", priority = 0): StepTask =>
  ({ stepId, queue, priority, stepRunId: `r:${stepId}` }) as StepTask;

describe("planBatches", () => {
  const short = new TaskDurations(new Map([...Array.from({ length: 40 }, (_, i) => [`s${i}`, 3] as const)]));
  const isShort = (t: StepTask) => short.isShort(t);

  it("sends a step with no history, or a long one, alone; batches short ones per queue, never across", () => {
    const durations = new TaskDurations(
      new Map([
        ["quick", 2],
        ["train", 600_000],
      ]),
    );
    const items = [task("quick"), task("quick", "gpu"), task("fresh"), task("train"), task("quick")].map((t) => ({
      task: t,
    }));
    const jobs = planBatches(items, (t) => durations.isShort(t), 1);
    const shape = jobs.map((j) => j.map((i) => `${i.task.stepId}@${i.task.queue}`));
    expect(shape).toEqual([["fresh@default"], ["train@default"], ["quick@default", "quick@default"], ["quick@gpu"]]);
  });

  it("keeps parallelism: as many jobs as are free, sizes within one, none above MAX_BATCH", () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ task: task(`s${i}`, "default", i) }));
    const twelve = planBatches(items, isShort, 12).map((j) => j.length);
    expect(twelve).toHaveLength(12);
    expect(Math.max(...twelve) - Math.min(...twelve)).toBeLessThanOrEqual(1);
    expect(twelve.reduce((a, b) => a + b, 0)).toBe(30);
    // No job slot free: still no batch above the cap.
    const capped = planBatches(items, isShort, 0).map((j) => j.length);
    expect(Math.max(...capped)).toBeLessThanOrEqual(MAX_BATCH);
    expect(capped.reduce((a, b) => a + b, 0)).toBe(30);
    // Neighbours in priority share a job, the highest first.
    const first = planBatches(items, isShort, 3)[0].map((i) => i.task.priority);
    expect(first).toEqual([29, 28, 27, 26, 25, 24, 23, 22, 21, 20]);
  });

  it("learns from the run: a step observed short is batched, one observed long no longer is", () => {
    const durations = new TaskDurations(new Map([["map", 5]]));
    expect(durations.isShort(task("item"))).toBe(false);
    durations.observe("item", 12);
    expect(durations.isShort(task("item"))).toBe(true);
    durations.observe("map", 4_000);
    expect(durations.isShort(task("map"))).toBe(false);
    expect(durations.isShort({ ...task("item"), exclusive: true })).toBe(false);
  });
});

/**
 * Eight independent steps, fast and slow interleaved (so each batch holds both); each appends
 * "start <step>" to `marks`; a slow one then logs and waits for `release`.
 */
const MIXED = (marks: string, release: string, name: string) => `
import { appendFileSync, existsSync } from "node:fs";
import { pipeline } from "trainyard";
const p = pipeline(${JSON.stringify(name)}, {});
const mark = (line: string) => appendFileSync(${JSON.stringify(marks)}, line + "\\n");
for (let i = 0; i < 4; i++) {
  p.step("fast" + i, { run: () => { mark("start fast" + i + " " + process.pid); return i; } });
  p.step("slow" + i, {
    run: async (ctx) => {
      mark("start slow" + i + " " + process.pid);
      ctx.log("slow" + i + " waiting");
      while (!existsSync(${JSON.stringify(release)})) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        await new Promise((r) => setTimeout(r, 25));
      }
      if (ctx.signal.aborted) throw ctx.signal.reason;
      mark("end slow" + i + " " + process.pid);
      return i * 10;
    },
  });
}
export default p;
`;

/** `count` independent steps, each returning its number at once. */
const QUICK = (name: string, count: number) => `
import { pipeline } from "trainyard";
const p = pipeline(${JSON.stringify(name)}, {});
for (let i = 0; i < ${count}; i++) p.step("q" + i, { run: () => i });
export default p;
`;

/** `count` independent steps, each logging one line and returning its number at once. */
const QUICK_LOGGED = (name: string, count: number) => `
import { pipeline } from "trainyard";
const p = pipeline(${JSON.stringify(name)}, {});
for (let i = 0; i < ${count}; i++) p.step("q" + i, { run: (ctx) => { ctx.log("q" + i + " done"); return i; } });
export default p;
`;

vi.setConfig({ testTimeout: 120_000 });

const gate = requireTools("redis-server", "postgresql");
gate.describe("task batches on a one-machine cluster (Redis, PostgreSQL, worker processes)", () => {
  let cluster: Cluster;
  let scratch: string;
  beforeAll(async () => {
    cluster = await startCluster({ queue: "redis", store: "fs" });
    scratch = tempDir("ty-batch-");
  });
  // Each scenario starts its own workers: none may take another scenario's tasks.
  afterEach(async () => {
    const alive = cluster.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    for (const w of alive) w.child.kill("SIGKILL");
    await Promise.all(alive.map((w) => w.exited));
  });
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  function mixed(name: string) {
    const marks = path.join(scratch, `${name}.marks`);
    const release = path.join(scratch, `${name}.release`);
    const file = path.join(cluster.dir, `${name}.ts`);
    fs.writeFileSync(file, MIXED(marks, release, name));
    const lines = () => (fs.existsSync(marks) ? fs.readFileSync(marks, "utf8").trim().split("\n") : []);
    const count = (prefix: string) => lines().filter((l) => l.startsWith(`${prefix} `)).length;
    return {
      file,
      lines,
      count,
      clear: () => fs.rmSync(marks, { force: true }),
      release: () => fs.writeFileSync(release, "go"),
      hold: () => fs.rmSync(release, { force: true }),
    };
  }

  /** A run of `file` on this machine's local executor, on the cluster's stores: it records short durations. */
  async function localRun(file: string) {
    const ty = await Trainyard.open({
      home: tempDir("ty-batch-local-"),
      metadata: { kind: "postgres", url: cluster.postgres.url },
      artifacts: { kind: "fs", root: cluster.artifacts },
      executor: { kind: "local" },
    });
    try {
      expect((await ty.run(file, { force: true })).status).toBe("succeeded");
    } finally {
      await ty.close();
    }
  }

  async function jobIdsOf(ty: Trainyard, runId: string) {
    const fences = await (await taskFenceFor(ty.metadata)).listRun(runId);
    return new Map(fences.map((f) => [f.stepRunId.slice(runId.length + 1), f]));
  }

  gate.it("batches only steps whose recorded history says they are short", async () => {
    await cluster.startWorker("h", { concurrency: 8 });
    const steps = mixed("history");
    steps.release();
    const ty = await cluster.orchestrator();
    try {
      // No history yet: every task travels alone.
      const first = await ty.run(steps.file, { concurrency: 1, force: true });
      expect(first.status).toBe("succeeded");
      const alone = await jobIdsOf(ty, first.runId);
      expect(alone.size).toBe(8);
      for (const fence of alone.values()) expect(fence.jobId).not.toMatch(/^batch~/);
      // Two local runs: the median of the recorded durations is then a local one.
      await localRun(steps.file);
      await localRun(steps.file);
      const second = await ty.run(steps.file, { concurrency: 1, force: true });
      expect(second.status).toBe("succeeded");
      const batched = await jobIdsOf(ty, second.runId);
      expect(new Set([...batched.values()].map((f) => f.jobId)).size).toBeLessThan(8);
      // Tasks that became ready in the same turn share a job (others may come a turn later, alone).
      expect([...batched.values()].filter((f) => f.jobId.startsWith("batch~")).length).toBeGreaterThan(1);
      expect(await ty.output(second.runId, "slow3")).toBe(30);
      await expectRunIntact(ty, second.runId);
    } finally {
      await ty.close();
    }
  });

  gate.it("sizes batches by the workers' slots when the run's concurrency is higher", async () => {
    await cluster.startWorker("one-slot", { concurrency: 1 });
    const steps = mixed("slots");
    steps.release();
    await localRun(steps.file);
    await localRun(steps.file);
    const ty = await cluster.orchestrator();
    try {
      // Concurrency 8 alone would keep 8 jobs in flight: every task alone. One slot keeps one.
      const run = await ty.run(steps.file, { concurrency: 8, force: true });
      expect(run.status).toBe("succeeded");
      const jobs = new Set([...(await jobIdsOf(ty, run.runId)).values()].map((f) => f.jobId));
      expect(jobs.size).toBeLessThanOrEqual(4);
      await expectRunIntact(ty, run.runId);
    } finally {
      await ty.close();
    }
  });

  gate.it("a run given no concurrency sizes batches by its workers' slots, not by this machine's CPUs", async () => {
    // More slots than the orchestrator has CPUs, on two workers.
    const cpus = availableParallelism();
    await cluster.startWorker("wide-a", { concurrency: cpus });
    await cluster.startWorker("wide-b", { concurrency: 1 });
    const slots = cpus + 1;
    const tasks = 4 * slots;
    const file = path.join(cluster.dir, "wide.ts");
    fs.writeFileSync(file, QUICK("wide", tasks));
    // The same pipeline beside a config that sets the run's concurrency.
    const configured = path.join(cluster.dir, "wide-configured");
    fs.mkdirSync(configured, { recursive: true });
    fs.writeFileSync(path.join(configured, "wide.ts"), QUICK("wide", tasks));
    fs.writeFileSync(path.join(configured, "trainyard.config.ts"), "export default { concurrency: 1 };\n");
    await localRun(file);
    await localRun(file);
    const ty = await cluster.orchestrator();
    /** How many tasks each job of the run carried, smallest first. */
    const jobSizes = async (runId: string) => {
      const sizes = new Map<string, number>();
      for (const fence of (await jobIdsOf(ty, runId)).values())
        sizes.set(fence.jobId, (sizes.get(fence.jobId) ?? 0) + 1);
      return [...sizes.values()].sort((a, b) => a - b);
    };
    try {
      const byDefault = await ty.run(file, { force: true });
      expect(byDefault.status).toBe("succeeded");
      // JOBS_PER_SLOT jobs in flight per worker slot, of (cpus + 1) slots (the CPUs would make fewer, fuller).
      expect(await jobSizes(byDefault.runId)).toEqual(Array(JOBS_PER_SLOT * slots).fill(4 / JOBS_PER_SLOT));
      await expectRunIntact(ty, byDefault.runId);
      // A concurrency given (in the run request as --concurrency gives it, or in the config) caps the slots.
      const capped = await ty.run(file, { concurrency: 1, force: true });
      const fromConfig = await ty.run(path.join(configured, "wide.ts"), { force: true });
      for (const run of [capped, fromConfig]) {
        expect(run.status).toBe("succeeded");
        const sizes = await jobSizes(run.runId);
        expect(sizes.length).toBe(Math.max(JOBS_PER_SLOT, Math.ceil(tasks / MAX_BATCH)));
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(tasks);
        await expectRunIntact(ty, run.runId);
      }
      expect(await ty.output(fromConfig.runId, `q${tasks - 1}`)).toBe(tasks - 1);
    } finally {
      await ty.close();
    }
  });

  gate.it(
    "a worker killed with -9 mid-batch: committed tasks are not run again, the others run once more",
    async () => {
      const steps = mixed("killed-mid-batch");
      steps.release();
      await localRun(steps.file);
      steps.clear();
      steps.hold();
      const victim = await cluster.startWorker("victim", { concurrency: 8 });
      const ty = await cluster.orchestrator();
      try {
        const running = ty.run(steps.file, { concurrency: 1, force: true });
        // Fast tasks committed, slow ones running: each batch is half done.
        await waitFor(() => steps.lines().length === 8, "every task of the batches to start", 30_000);
        const runId = (await ty.listRuns({ pipeline: "killed-mid-batch" }))[0].id;
        await waitFor(
          async () => [...(await jobIdsOf(ty, runId)).values()].filter((f) => f.state === "committed").length === 4,
          "the fast tasks to commit",
          15_000,
        );
        const before = await jobIdsOf(ty, runId);
        // The victim holds a batch with a committed task and one still running.
        const mixedJobs = new Set(
          [...before.values()]
            .filter((f) => f.jobId.startsWith("batch~") && f.state === "committed")
            .map((f) => f.jobId),
        );
        expect([...before.values()].some((f) => mixedJobs.has(f.jobId) && f.state === "running")).toBe(true);
        victim.child.kill("SIGKILL");
        await victim.exited;
        steps.release();
        const heir = await cluster.startWorker("heir", { concurrency: 8 });
        const result = await running;
        const story = `${steps.lines().join("\n")}\nvictim:\n${victim.output()}\nheir:\n${heir.output()}`;
        expect(result.status).toBe("succeeded");
        for (let i = 0; i < 4; i++) {
          expect(steps.count(`start fast${i}`), `fast${i} ran once`).toBe(1);
          expect(steps.count(`start slow${i}`), `slow${i} started on both workers\n${story}`).toBe(2);
          expect(steps.count(`end slow${i}`), `slow${i} ended once`).toBe(1);
        }
        const after = await jobIdsOf(ty, runId);
        for (const [step, fence] of after) {
          expect(fence.state).toBe("committed");
          expect(fence.worker).toMatch(step.startsWith("fast") ? /\/victim$/ : /\/heir$/);
        }
        expect(await ty.output(runId, "slow2")).toBe(20);
        await expectRunIntact(ty, runId);
      } finally {
        await ty.close();
      }
    },
  );

  gate.it("the orchestrator killed mid-batch: `trainyard resume` reattaches to the batch's tasks", async () => {
    const steps = mixed("resumed-batch");
    steps.release();
    await localRun(steps.file);
    steps.clear();
    steps.hold();
    await cluster.startWorker("r", { concurrency: 8 });
    const home = tempDir("ty-batch-cli-");
    const env = cluster.cliEnv(home);
    // Two slots of the worker's eight: the batches hold four tasks each (with all eight, every task goes alone).
    const run = ["run", steps.file, "--config", cluster.config, "--force", "--concurrency", "2"];
    const orchestrator = startCli(run, home, {
      cwd: cluster.dir,
      env,
    });
    const ty = await cluster.orchestrator();
    try {
      await waitFor(
        () => steps.lines().length === 8 || orchestrator.child.exitCode !== null,
        "every task to start on the worker",
        60_000,
      );
      if (orchestrator.child.exitCode !== null)
        throw new Error(`the orchestrator ended:\n${(await orchestrator.done).stderr}`);
      orchestrator.child.kill("SIGKILL");
      await orchestrator.done;
      const runId = (await ty.listRuns({ pipeline: "resumed-batch" }))[0].id;
      expect([...(await jobIdsOf(ty, runId)).values()].some((f) => f.jobId.startsWith("batch~"))).toBe(true);
      // The worker goes on and commits while no orchestrator listens.
      steps.release();
      await waitFor(
        async () => [...(await jobIdsOf(ty, runId)).values()].every((f) => f.state === "committed"),
        "every commit",
        30_000,
      );
      const resumed = startCli(["resume", runId, "--config", cluster.config], home, { cwd: cluster.dir, env });
      const out = await resumed.done;
      expect(out.code, out.stderr).toBe(0);
      for (let i = 0; i < 4; i++) {
        expect(steps.count(`start fast${i}`)).toBe(1);
        expect(steps.count(`start slow${i}`)).toBe(1);
      }
      expect(await ty.output(runId, "slow1")).toBe(10);
      await expectRunIntact(ty, runId);
    } finally {
      await ty.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  gate.it("a batch of quick tasks: each task's live log line comes back under its own step", async () => {
    // Quick tasks usually end before their progress is due: their events then travel with the job's end.
    const file = path.join(cluster.dir, "quick-logged.ts");
    fs.writeFileSync(file, QUICK_LOGGED("quick-logged", 12));
    await localRun(file);
    await cluster.startWorker("q", { concurrency: 2 });
    const ty = await cluster.orchestrator();
    const events: RunEvent[] = [];
    try {
      const run = await ty.run(file, { concurrency: 2, force: true, onEvent: (e) => events.push(e) });
      expect(run.status).toBe("succeeded");
      const jobs = await jobIdsOf(ty, run.runId);
      expect([...jobs.values()].filter((f) => f.jobId.startsWith("batch~")).length).toBeGreaterThan(1);
      const logged = events.flatMap((e) => (e.type === "log" ? [`${e.stepId}: ${e.line.line}`] : []));
      expect(logged.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `q${i}: q${i} done`).sort());
      await expectRunIntact(ty, run.runId);
    } finally {
      await ty.close();
    }
  });

  gate.it("cancelling the run reaches every task of a batch; each task's log comes back as its own", async () => {
    const steps = mixed("cancelled-batch");
    steps.release();
    await localRun(steps.file);
    steps.clear();
    steps.hold();
    const worker = await cluster.startWorker("c", { concurrency: 8 });
    const ty = await cluster.orchestrator();
    const abort = new AbortController();
    const events: RunEvent[] = [];
    try {
      const running = ty.run(steps.file, {
        concurrency: 1,
        force: true,
        signal: abort.signal,
        onEvent: (e) => events.push(e),
      });
      const logsBack = () =>
        events.flatMap((e) => (e.type === "log" && e.line.line === `${e.stepId} waiting` ? [e.stepId] : []));
      await waitFor(() => logsBack().length >= 4, "each slow task's log line, under its own step", 30_000).catch(
        (err) => {
          throw new Error(
            `${err.message}\n${steps.lines().join("\n")}\n${worker.output()}\n${JSON.stringify(events.slice(-30))}`,
          );
        },
      );
      expect(logsBack().sort()).toEqual(["slow0", "slow1", "slow2", "slow3"]);
      const runId = (await ty.listRuns({ pipeline: "cancelled-batch" }))[0].id;
      const slowJobs = [...(await jobIdsOf(ty, runId))].filter(([step]) => step.startsWith("slow"));
      expect(slowJobs.some(([, f]) => f.jobId.startsWith("batch~"))).toBe(true);
      abort.abort();
      expect((await running).status).toBe("cancelled");
      for (let i = 0; i < 4; i++)
        await waitFor(
          async () => (await ty.metadata.listAttempts(`${runId}:slow${i}`)).some((a) => a.status === "cancelled"),
          `the worker to stop slow${i}`,
          15_000,
        );
      steps.release();
      await new Promise((r) => setTimeout(r, 500));
      expect(steps.lines().filter((l) => l.startsWith("end"))).toEqual([]);
    } finally {
      await ty.close();
    }
  });
});
