/**
 * A step re-dispatched while its earlier dispatch still runs on a worker: the orchestrator is killed
 * mid-step, the step's code is changed, and `trainyard resume` hands the step over anew (the earlier
 * dispatch computes something else, so it is not reattached). The earlier pickup is stopped by its
 * refused heartbeat; the new one must count its attempt after the earlier one's, so that the two
 * attempts' records and logs stay apart. Real Redis, PostgreSQL and two `trainyard worker` processes.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { startCli } from "../cli/support.js";
import { tempDir, waitFor } from "../engine/support.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { requireTools } from "../support/require-tool.js";
import { type Cluster, startCluster } from "./cluster.js";

/** The step logs its `version` and attempt number a few times, then waits for `release`. */
const PIPELINE = (marks: string, release: string, version: string) => `
import { appendFileSync, existsSync } from "node:fs";
import { pipeline } from "trainyard";
const p = pipeline("redispatched", {});
p.step("slow", {
  run: async (ctx) => {
    appendFileSync(${JSON.stringify(marks)}, "start ${version}\\n");
    for (let i = 0; i < 5; i++) ctx.log("${version} attempt " + ctx.attempt + " line " + i);
    while (!existsSync(${JSON.stringify(release)})) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await new Promise((r) => setTimeout(r, 25));
    }
    return "${version}";
  },
});
export default p;
`;

/** The step fails its first attempt, then logs and waits for `release` (a worker is killed meanwhile). */
const RETRIED = (marks: string, release: string) => `
import { appendFileSync, existsSync } from "node:fs";
import { pipeline } from "trainyard";
const p = pipeline("retried-then-killed", {});
p.step("slow", {
  retry: { attempts: 3, initialDelayMs: 1, jitter: 0 },
  run: async (ctx) => {
    appendFileSync(${JSON.stringify(marks)}, "start " + ctx.attempt + "\\n");
    if (ctx.attempt === 1) throw new Error("first attempt fails");
    for (let i = 0; i < 5; i++) ctx.log("attempt " + ctx.attempt + " line " + i);
    while (!existsSync(${JSON.stringify(release)})) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await new Promise((r) => setTimeout(r, 25));
    }
    return ctx.attempt;
  },
});
export default p;
`;

vi.setConfig({ testTimeout: 120_000 });

const gate = requireTools("redis-server", "postgresql");
gate.describe("a step handed over again while its earlier dispatch still runs", () => {
  let cluster: Cluster;
  let scratch: string;
  beforeAll(async () => {
    cluster = await startCluster({ store: "fs" });
    scratch = tempDir("ty-redispatch-");
    await Promise.all(["r1", "r2"].map((id) => cluster.startWorker(id)));
  });
  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  gate.it("counts a new attempt: the two dispatches' attempt records and logs stay apart", async () => {
    const marks = path.join(scratch, "marks");
    const release = path.join(scratch, "release");
    const file = path.join(cluster.dir, "redispatched.ts");
    fs.writeFileSync(file, PIPELINE(marks, release, "old"));
    const starts = () => (fs.existsSync(marks) ? fs.readFileSync(marks, "utf8").trim().split("\n") : []);
    const home = tempDir("ty-redispatch-cli-");
    const env = cluster.cliEnv(home);
    const orchestrator = startCli(["run", file, "--config", cluster.config], home, { cwd: cluster.dir, env });
    await waitFor(() => starts().length === 1 || orchestrator.child.exitCode !== null, "the step to start", 60_000);
    if (orchestrator.child.exitCode !== null)
      throw new Error(`the orchestrator ended:\n${(await orchestrator.done).stderr}`);
    const ty = await cluster.orchestrator();
    try {
      const runId = (await ty.listRuns({ pipeline: "redispatched" }))[0].id;
      // The earlier attempt's lines are recorded before the orchestrator goes.
      await waitFor(
        async () => (await ty.metadata.listAttempts(`${runId}:slow`)).length === 1,
        "the first attempt's record",
        30_000,
      );
      orchestrator.child.kill("SIGKILL");
      await orchestrator.done;
      // New code for the step: its cache key changes, so the resumed run cannot reattach to the dispatch.
      fs.writeFileSync(file, PIPELINE(marks, release, "new"));
      const resumed = startCli(["resume", runId, "--config", cluster.config], home, { cwd: cluster.dir, env });
      await waitFor(() => starts().length === 2, "the new dispatch to start", 60_000);
      // The earlier pickup stops once its heartbeat is refused (its result could not be committed anyway).
      await waitFor(
        async () => (await ty.metadata.listAttempts(`${runId}:slow`))[0]?.status === "cancelled",
        "the earlier attempt to be stopped",
        30_000,
      );
      fs.writeFileSync(release, "go");
      const out = await resumed.done;
      expect(out.code, out.stderr).toBe(0);
      expect(starts()).toEqual(["start old", "start new"]);
      expect(await ty.output(runId, "slow")).toBe("new");

      const attempts = await ty.metadata.listAttempts(`${runId}:slow`);
      expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, "cancelled"],
        [2, "succeeded"],
      ]);
      expect((await ty.query.stepRun(runId, "slow")).attempts).toBe(2);
      const linesOf = async (attempt: number) => {
        const lines: string[] = [];
        for await (const chunk of ty.query.stepLog(runId, "slow", { attempt }))
          lines.push(...chunk.lines.filter((l) => / attempt \d+ line /.test(l)));
        return lines;
      };
      const expected = (version: string, attempt: number) =>
        [0, 1, 2, 3, 4].map((i) => `${version} attempt ${attempt} line ${i}`);
      expect(await linesOf(1)).toEqual(expected("old", 1));
      expect(await linesOf(2)).toEqual(expected("new", 2));
    } finally {
      await ty.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  gate.it("a pickup taken over after a kill -9 counts past the killed pickup's retries", async () => {
    const marks = path.join(scratch, "retried.marks");
    const release = path.join(scratch, "retried.release");
    const file = path.join(cluster.dir, "retried.ts");
    fs.writeFileSync(file, RETRIED(marks, release));
    const starts = () => (fs.existsSync(marks) ? fs.readFileSync(marks, "utf8").trim().split("\n") : []);
    const ty = await cluster.orchestrator();
    try {
      const running = ty.run(file);
      await waitFor(() => starts().length === 2, "the second attempt to start", 60_000);
      const runId = (await ty.listRuns({ pipeline: "retried-then-killed" }))[0].id;
      await waitFor(
        async () => (await ty.metadata.listAttempts(`${runId}:slow`)).length === 2,
        "the second attempt's record",
        30_000,
      );
      const fence = await (await taskFenceFor(ty.metadata)).get(`${runId}:slow`);
      const victim = cluster.workers.find((w) => fence?.worker?.endsWith(`/${w.id}`))!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      await waitFor(() => starts().length === 3, "the step to start again on the other worker", 30_000);
      fs.writeFileSync(release, "go");
      const result = await running;
      expect(result.status).toBe("succeeded");
      expect(starts()).toEqual(["start 1", "start 2", "start 3"]);
      expect(await ty.output(runId, "slow")).toBe(3);
      const attempts = await ty.metadata.listAttempts(`${runId}:slow`);
      // The killed pickup's second attempt keeps its record (left running: nothing ended it).
      expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, "failed"],
        [2, "running"],
        [3, "succeeded"],
      ]);
      expect((await ty.query.stepRun(runId, "slow")).attempts).toBe(3);
      for (const attempt of [2, 3]) {
        const lines: string[] = [];
        for await (const chunk of ty.query.stepLog(runId, "slow", { attempt })) lines.push(...chunk.lines);
        expect(lines).toEqual([0, 1, 2, 3, 4].map((i) => `attempt ${attempt} line ${i}`));
      }
    } finally {
      await ty.close();
    }
  });
});
