/**
 * The queue executor's failure scenarios on a one-machine cluster, each checking that no output
 * is lost or damaged and that no step run's result is committed twice: a worker killed with -9
 * mid-step, Redis killed and restarted mid-run, Redis full mid-run, PostgreSQL restarted mid-run, the orchestrator
 * killed (resume reattaches), a worker missing a Python module, and cancellation reaching a step
 * running on a worker. Each scenario runs with the queues in Redis and again in PostgreSQL (the
 * Redis restart only on Redis).
 * As root, each worker runs in its own network namespace and the artifacts live in S3 (s3rver), so
 * workers share nothing but the queue, PostgreSQL and the object store, reached over the network.
 */
import fs from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, vi } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import type { RunEvent } from "../../src/engine/events.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { startCli } from "../cli/support.js";
import { tempDir, waitFor } from "../engine/support.js";
import { netnsAvailable } from "../support/netns.js";
import { requireTools, type ToolName } from "../support/require-tool.js";
import { type Cluster, type QueueStore, startCluster } from "./cluster.js";
import { expectRunIntact } from "./run-integrity.js";

/**
 * A chain whose middle step appends a line to `marks` each time it starts, logs `talk` lines, then
 * waits for `release`.
 */
const SLOW_CHAIN = (marks: string, release: string, name: string, talk = 0) => `
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "trainyard";
const p = pipeline(${JSON.stringify(name)}, {});
const first = p.step("first", { run: () => ({ n: 21 }) });
const slow = p.step("slow", {
  inputs: { first },
  run: async (ctx, { first }) => {
    appendFileSync(${JSON.stringify(marks)}, "start " + process.pid + "\\n");
    for (let i = 0; i < ${talk}; i++) ctx.log("attempt " + ctx.attempt + " line " + i);
    ctx.log("slow step waiting");
    while (!existsSync(${JSON.stringify(release)})) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    writeFileSync(join(ctx.workdir, "model.bin"), Buffer.alloc(100_000, first.n));
    appendFileSync(${JSON.stringify(marks)}, "end " + process.pid + "\\n");
    return { n: first.n * 2, model: ctx.file("model.bin") };
  },
});
p.step("last", { inputs: { slow }, run: (_ctx, { slow }) => slow.n + 1 });
export default p;
`;

// Processes start slowly on a loaded machine; every wait below has its own, shorter bound.
vi.setConfig({ testTimeout: 180_000 });

const netns = netnsAvailable();
const mode = netns ? "each worker in its own network namespace" : "plain processes: not root, no network namespaces";
for (const queue of ["redis", "postgres"] as QueueStore[]) {
  const tools: ToolName[] = queue === "redis" ? ["redis-server", "postgresql"] : ["postgresql"];
  const gate = requireTools(...tools);
  gate.describe(
    `queue executor failures on a one-machine cluster, queues in ${queue}, artifacts in S3 (${mode})`,
    () => {
      let cluster: Cluster;
      let scratch: string;
      beforeAll(async () => {
        cluster = await startCluster({ queue, netns, store: "s3" });
        scratch = tempDir("ty-qfail-");
        await Promise.all(["a", "b", "c"].map((id) => cluster.startWorker(id)));
      });
      afterAll(async () => {
        await cluster?.stop();
        fs.rmSync(scratch, { recursive: true, force: true });
      });

      function slowChain(name: string, talk = 0) {
        const marks = path.join(scratch, `${name}.marks`);
        const release = path.join(scratch, `${name}.release`);
        const file = path.join(cluster.dir, `${name}.ts`);
        fs.writeFileSync(file, SLOW_CHAIN(marks, release, name, talk));
        const lines = () => (fs.existsSync(marks) ? fs.readFileSync(marks, "utf8").trim().split("\n") : []);
        return { file, lines, release: () => fs.writeFileSync(release, "go") };
      }

      /** The run's outputs are whole and verified, and each step run was committed once. */
      async function assertIntact(ty: Trainyard, runId: string) {
        const steps = await ty.metadata.listStepRuns(runId);
        expect(Object.fromEntries(steps.map((s) => [s.stepId, s.status]))).toEqual({
          first: "succeeded",
          slow: "succeeded",
          last: "succeeded",
        });
        await expectRunIntact(ty, runId);
        const slow = (await ty.output(runId, "slow")) as { n: number; model: { path: string; digest: string } };
        expect(slow.n).toBe(42);
        // Verified against its digest on the way in: a damaged or missing object would throw here.
        const model = await ty.verifiedPath(slow.model.digest);
        expect(fs.readFileSync(model).equals(Buffer.alloc(100_000, 21))).toBe(true);
        expect(await ty.output(runId, "last")).toBe(43);
      }

      async function fenceOf(ty: Trainyard, stepRunId: string) {
        return (await taskFenceFor(ty.metadata)).get(stepRunId);
      }

      gate.it("a worker killed with -9 mid-step: the step is taken over by another worker, once", async () => {
        const chain = slowChain("killed-worker", 500);
        const ty = await cluster.orchestrator();
        try {
          const running = ty.run(chain.file, { concurrency: 2 });
          await waitFor(() => chain.lines().length === 1, "the slow step to start on a worker", 30_000);
          const runId = (await ty.listRuns({ pipeline: "killed-worker" }))[0].id;
          // Its long log has reached the store as it grew (a live part) before the worker dies.
          const part = `${runId}/slow.1.log.gz.live-0`;
          await waitFor(async () => (await ty.artifacts.logCopies!.open(part)) !== undefined, "a live part", 30_000);
          const holder = (await fenceOf(ty, `${runId}:slow`))!.worker!;
          const victim = cluster.workers.find((w) => holder.endsWith(`/${w.id}`))!;
          victim.child.kill("SIGKILL");
          await victim.exited;
          // Detected stalled within seconds and started again elsewhere.
          await waitFor(() => chain.lines().length === 2, "the slow step to start again on another worker", 15_000);
          chain.release();
          const result = await running;
          expect(result.status).toBe("succeeded");
          const lines = chain.lines();
          expect(lines.filter((l) => l.startsWith("start"))).toHaveLength(2);
          expect(lines.filter((l) => l.startsWith("end"))).toHaveLength(1);
          const fence = (await fenceOf(ty, `${runId}:slow`))!;
          expect(fence.state).toBe("committed");
          expect(fence.worker).not.toBe(holder);
          await assertIntact(ty, runId);
          const log: Array<{ attempt: number; line: string }> = [];
          for await (const c of ty.query.stepLog(runId, "slow")) log.push(...c.lines.map((line) => ({ ...c, line })));
          // The killed attempt's log reads whole from its live parts; the next attempt's from its copy.
          const of = (n: number) => log.filter((l) => l.attempt === n).map((l) => l.line);
          const talk = (n: number) => [
            ...Array.from({ length: 500 }, (_, i) => `attempt ${n} line ${i}`),
            "slow step waiting",
          ];
          expect(of(1)).toEqual(talk(1));
          expect(of(2)).toEqual(talk(2));
        } finally {
          await ty.close();
        }
      });

      /** A server restarted while the slow step runs: the run goes on, and nothing is lost or committed twice. */
      async function restartedMidRun(name: string, restart: () => Promise<void>) {
        const chain = slowChain(name);
        const ty = await cluster.orchestrator();
        try {
          const running = ty.run(chain.file, { concurrency: 2 });
          await waitFor(() => chain.lines().length === 1, "the slow step to start", 30_000);
          await restart();
          chain.release();
          const result = await running;
          expect(result.status).toBe("succeeded");
          // An outage longer than the lock lets the queue hand the step to another worker: it may
          // start twice, but only one pickup commits (assertIntact).
          expect(chain.lines().filter((l) => l.startsWith("start")).length).toBeLessThanOrEqual(2);
          await assertIntact(ty, result.runId);
        } finally {
          await ty.close();
        }
      }

      // Only with the queues in Redis: with the queues in PostgreSQL, the next scenario is their restart.
      if (queue === "redis")
        gate.it("Redis killed and restarted mid-run: the run continues, nothing lost", () =>
          restartedMidRun("redis-restart", () => cluster.redis!.restart({ kill: true, downMs: 500 })),
        );

      // Redis at its memory limit (noeviction refuses writes): the step that runs finishes and commits
      // through its fence, the next hand-over is refused. Before, that failed the step with Redis's bare
      // reply, as though the step's own code had.
      if (queue === "redis")
        gate.it(
          "Redis full mid-run: the next step fails with QUEUE_FULL naming it; resume finishes the run",
          async () => {
            const chain = slowChain("redis-full");
            const ty = await cluster.orchestrator();
            const redis = new Redis(cluster.redis!.url);
            try {
              // Forced: the other scenarios' runs left `last` in the cache, and a cache hit is never handed over.
              const running = ty.run(chain.file, { concurrency: 2, force: true });
              await waitFor(() => chain.lines().length === 1, "the slow step to start", 30_000);
              await redis.config("SET", "maxmemory", "1");
              chain.release();
              const full = await running;
              expect(full.status).toBe("failed");
              expect(full.error).toMatchObject({ code: "QUEUE_FULL", fields: { step: "last", field: "executor" } });
              expect(full.error?.message).toMatch(/step "last" was not handed to queue "default": .* out of memory/);
              expect(full.error?.hint).toMatch(/maxmemory.*trainyard resume/);
              await redis.config("SET", "maxmemory", "0");
              const resumed = await ty.resume(full.runId);
              expect(resumed.status, JSON.stringify(resumed.error)).toBe("succeeded");
              expect(chain.lines().filter((l) => l.startsWith("start"))).toHaveLength(1);
              await assertIntact(ty, full.runId);
            } finally {
              await redis.config("SET", "maxmemory", "0").catch(() => undefined);
              redis.disconnect();
              await ty.close();
            }
          },
        );

      // Every session cut at once (the orchestrator's, the workers' and, with the queues there, the
      // queues'), and half a second with no server at all. A fast shutdown, as a restart or a
      // switchover does: the test clusters run without synchronous commit, so a crash here would
      // lose the last commits for the server's own reason.
      gate.it("PostgreSQL restarted mid-run: the run continues, nothing lost", () =>
        restartedMidRun("postgres-restart", () => cluster.postgres.restart({ downMs: 500 })),
      );

      gate.it(
        "the orchestrator killed: `trainyard resume` reattaches to the running step instead of re-running it",
        async () => {
          const chain = slowChain("orchestrator-killed");
          const home = tempDir("ty-orch-cli-");
          const env = cluster.cliEnv(home);
          const orchestrator = startCli(["run", chain.file, "--config", cluster.config], home, {
            cwd: cluster.dir,
            env,
          });
          await waitFor(
            () => chain.lines().length === 1 || orchestrator.child.exitCode !== null,
            "the slow step to start on a worker",
            60_000,
          );
          if (orchestrator.child.exitCode !== null)
            throw new Error(`the orchestrator ended:\n${(await orchestrator.done).stderr}`);
          orchestrator.child.kill("SIGKILL");
          await orchestrator.done;
          // The worker goes on and commits while no orchestrator listens.
          chain.release();
          const ty = await cluster.orchestrator();
          try {
            const runId = (await ty.listRuns({ pipeline: "orchestrator-killed" }))[0].id;
            await waitFor(
              async () => (await fenceOf(ty, `${runId}:slow`))?.state === "committed",
              "the commit",
              30_000,
            );
            const resumed = startCli(["resume", runId, "--config", cluster.config], home, { cwd: cluster.dir, env });
            const out = await resumed.done;
            expect(out.code, out.stderr).toBe(0);
            expect(chain.lines().filter((l) => l.startsWith("start"))).toHaveLength(1);
            await assertIntact(ty, runId);
          } finally {
            await ty.close();
            fs.rmSync(home, { recursive: true, force: true });
          }
        },
      );

      gate.it("cancelling the run stops the step on its worker; its log streamed back live", async () => {
        const chain = slowChain("cancelled");
        const ty = await cluster.orchestrator();
        const abort = new AbortController();
        const events: RunEvent[] = [];
        try {
          const running = ty.run(chain.file, { concurrency: 2, signal: abort.signal, onEvent: (e) => events.push(e) });
          await waitFor(
            () => events.some((e) => e.type === "log" && e.line.line === "slow step waiting"),
            "the step's log line to come back while it runs",
            30_000,
          );
          const runId = (await ty.listRuns({ pipeline: "cancelled" }))[0].id;
          // Also in the run's record (what `trainyard logs` reads) while the step still runs.
          await waitFor(
            async () => (await ty.metadata.getLogs(`${runId}:slow`)).some((l) => l.line === "slow step waiting"),
            "the log line in the run's record",
            10_000,
          );
          abort.abort();
          const result = await running;
          expect(result.status).toBe("cancelled");
          // The worker saw its heartbeat refused and stopped the step: it never ends on its own.
          await waitFor(
            async () => (await ty.metadata.listAttempts(`${runId}:slow`)).some((a) => a.status === "cancelled"),
            "the worker to record the attempt cancelled",
            15_000,
          );
          chain.release();
          await new Promise((r) => setTimeout(r, 500));
          expect(chain.lines().filter((l) => l.startsWith("end"))).toHaveLength(0);
          expect(JSON.parse((await fenceOf(ty, `${runId}:slow`))!.result!).status).toBe("cancelled");
        } finally {
          await ty.close();
        }
      });

      requireTools(...tools, "python3").it(
        "a worker missing a Python module fails the step with an error naming the worker",
        async () => {
          await cluster.startWorker("no-sklearn-here", { queues: ["py"] });
          const file = path.join(cluster.dir, "needs-module.ts");
          fs.writeFileSync(
            file,
            `import { pipeline } from "trainyard";
const p = pipeline("needs-module", { pools: { py: 1 } });
p.command("fit", { pool: "py", run: "python3 -c 'import trainyard_absent_module_q'" });
export default p;
`,
          );
          const ty = await cluster.orchestrator();
          try {
            const result = await ty.run(file, { concurrency: 1 });
            expect(result.status).toBe("failed");
            expect(result.error?.code).toBe("WORKER_MISSING_DEPENDENCY");
            expect(result.error?.message).toMatch(/on worker .+\/no-sklearn-here/);
            expect(result.error?.message).toContain('Python module "trainyard_absent_module_q"');
            expect(result.error?.hint).toContain("no-sklearn-here");
          } finally {
            await ty.close();
          }
        },
      );
    },
  );
}
