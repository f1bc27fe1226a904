/**
 * A hyperparameter search on real flights across three workers (each in its own network
 * namespace as root, artifacts in S3): one worker killed with -9 while trials run costs only its
 * trials in flight (the one it fits, and a few being stored), every other trial starts once, and
 * a rerun takes every trial from the cache, item by item (a widened grid runs only its new trials).
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { waitFor } from "../engine/support.js";
import { netnsAvailable } from "../support/netns.js";
import { requireTools } from "../support/require-tool.js";
import { type Cluster, startCluster } from "./cluster.js";
import { FLIGHTS_200K, flightSearchModule, trialsSeen } from "./flight-search.js";
import { expectRunIntact } from "./run-integrity.js";

vi.setConfig({ testTimeout: 240_000 });

const DEPTHS = [2, 3, 4, 5];
const RATES = [0.05, 0.1, 0.2, 0.3];
const TRIALS = DEPTHS.length * RATES.length;
const search = (learningRates: number[]) =>
  flightSearchModule({ name: "cluster-search", depths: DEPTHS, learningRates, rows: 20_000, rounds: 15 });

const gate = requireTools("redis-server", "postgresql");
const netns = netnsAvailable();
const mode = netns ? "each worker in its own network namespace" : "plain processes: not root, no network namespaces";
gate.describe(`a search of ${TRIALS} trials on flights across three workers (${mode})`, () => {
  let cluster: Cluster;
  beforeAll(async () => {
    expect(fs.existsSync(FLIGHTS_200K), `${FLIGHTS_200K} (npm package vega-datasets)`).toBe(true);
    // A lock longer than the shared cluster's: a worker slowed by a loaded machine is not taken for dead.
    cluster = await startCluster({ netns, store: "s3", timing: { lockMs: 3000 } });
    await Promise.all(["s1", "s2", "s3"].map((id) => cluster.startWorker(id)));
  });
  afterAll(async () => cluster?.stop());

  gate.it("a worker killed mid-search costs only its in-flight trials; a rerun reuses every trial", async () => {
    const file = path.join(cluster.dir, "cluster-search.ts");
    fs.writeFileSync(file, search(RATES));
    const ty = await cluster.orchestrator();
    try {
      let settled = false;
      const running = ty.run(file, { concurrency: 6 }).finally(() => (settled = true));
      const runId = await waitFor(
        async () => (await ty.listRuns({ pipeline: "cluster-search" }))[0]?.id,
        "the run to start",
        30_000,
      );
      // Kill a worker while it fits a trial, once some trials are already done.
      const victim = await waitFor(
        () => {
          const seen = cluster.workers.map((w) => trialsSeen(w.output(), runId, "search"));
          const done = seen.reduce((n, s) => n + s.ended.length, 0);
          if (settled) throw new Error(`the run ended first:\n${cluster.workers.map((w) => w.output()).join("")}`);
          return done >= 2 ? cluster.workers.find((_w, i) => seen[i].inFlight.length > 0) : undefined;
        },
        "a worker to be running a trial after two trials finished",
        120_000,
      ).catch(async (err) => {
        throw new Error(`${err.message}\n${cluster.workers.map((w) => w.output()).join("")}`);
      });
      victim.child.kill("SIGKILL");
      await victim.exited;
      const result = await running;
      expect(result.error).toBeUndefined();
      expect(result.status).toBe("succeeded");

      // Lost with the killed worker: the trials it had started and not committed. That is the one it
      // was fitting, and at most two more whose fit had ended (a slot is freed as soon as a step's
      // work ends) and whose outputs or commit were still on their way.
      const fences = await taskFenceFor(ty.metadata);
      const committedBy = async (i: number) => (await fences.get(`${runId}:search[${i}]`))?.worker ?? "";
      const onVictim = trialsSeen(victim.output(), runId, "search").started;
      const lost: number[] = [];
      for (const i of onVictim) if (!(await committedBy(i)).endsWith(`/${victim.id}`)) lost.push(i);
      expect(lost.length, "trials lost with the killed worker").toBeGreaterThanOrEqual(1);
      expect(lost.length, "trials lost with the killed worker").toBeLessThanOrEqual(3);
      const starts = new Array<number>(TRIALS).fill(0);
      const survivors = cluster.workers.filter((w) => w !== victim);
      for (const w of cluster.workers) for (const i of trialsSeen(w.output(), runId, "search").started) starts[i]++;
      for (let i = 0; i < TRIALS; i++) expect(starts[i], `starts of trial ${i}`).toBe(lost.includes(i) ? 2 : 1);
      // Each lost trial ran again on one surviving worker, which finished it.
      for (const trial of lost) {
        const rerunBy = survivors.filter((w) => trialsSeen(w.output(), runId, "search").ended.includes(trial));
        expect(rerunBy, `trial ${trial} finished once on a surviving worker`).toHaveLength(1);
      }

      // Every trial committed exactly once in the fence and in the lineage; every object verified.
      for (let i = 0; i < TRIALS; i++) expect((await fences.get(`${runId}:search[${i}]`))?.state).toBe("committed");
      const computed = await expectRunIntact(ty, runId);
      for (let i = 0; i < TRIALS; i++) expect(computed).toContain(`${runId}:search[${i}]`);
      const best = (await ty.output(runId, "search.best")) as { trials: unknown[]; bestScore: number };
      expect(best.trials).toHaveLength(TRIALS);
      expect(best.bestScore).toBeGreaterThan(0.5);

      // A rerun takes every trial from the cache: no worker starts a step of it.
      const again = await ty.run(file, { concurrency: 6 });
      expect(again.status).toBe("succeeded");
      const items = (await ty.metadata.listStepRuns(again.runId)).filter(
        (s) => s.stepId === "search" && s.itemIndex >= 0,
      );
      expect(items).toHaveLength(TRIALS);
      expect(items.every((s) => s.cached)).toBe(true);
      expect(cluster.workers.map((w) => w.output()).join("")).not.toContain(`started ${again.runId} `);

      // A wider grid: the 16 trials it shares are reused item by item, only the new ones run.
      fs.writeFileSync(file, search([...RATES, 0.4]));
      const wider = await ty.run(file, { concurrency: 6 });
      expect(wider.status).toBe("succeeded");
      const widerItems = (await ty.metadata.listStepRuns(wider.runId)).filter(
        (s) => s.stepId === "search" && s.itemIndex >= 0,
      );
      expect(widerItems).toHaveLength(TRIALS + DEPTHS.length);
      expect(widerItems.filter((s) => s.cached)).toHaveLength(TRIALS);
      const ranNow = survivors.flatMap((w) => trialsSeen(w.output(), wider.runId, "search").started);
      expect(ranNow).toHaveLength(DEPTHS.length);
    } finally {
      await ty.close();
    }
  });
});
