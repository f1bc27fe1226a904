/**
 * gc removes the task fences no run can use any more (a succeeded run's, a run no longer recorded,
 * with --older-than a resumable run's) and keeps those of queued, running and recent resumable runs;
 * a dry run removes none. Through the engine and through the CLI's text and JSON output (SQLite;
 * the fence store's own removal runs on PostgreSQL too in test/distributed/task-fence.test.ts).
 */
import { expect, it } from "vitest";
import { encodeStepTask, STEP_TASK_VERSION } from "../../src/engine/step-task.js";
import { acquireRunLease } from "../../src/engine/run-lease.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import type { RunStatus } from "../../src/store/metadata-records.js";
import type { TaskFenceStore } from "../../src/store/task-fence.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { cli } from "../cli/support.js";
import { useHomes } from "./support.js";

const homes = useHomes();
const DAY = 86_400_000;

/** A run of `status` created `ageMs` ago, with `steps` fences (or only fences: `recorded` false). */
async function queueRun(
  ty: Trainyard,
  fences: TaskFenceStore,
  id: string,
  status: RunStatus,
  ageMs: number,
  steps = 2,
  recorded = true,
): Promise<void> {
  if (recorded)
    await ty.metadata.createRun({
      ...{ id, pipeline: "fenced", modulePath: "/srv/fenced.ts", params: {}, trigger: "manual" },
      ...{ status, codeVersion: "c", createdAt: Date.now() - ageMs, options: {} },
    });
  const open = Array.from({ length: steps }, (_, i) => {
    const ids = { stepRunId: `${id}:s${i}`, runId: id, attemptId: `a${i}` };
    const task = encodeStepTask({
      ...{ version: STEP_TASK_VERSION, ...ids, pipeline: "fenced", modulePath: "/srv/fenced.ts", stepId: `s${i}` },
      ...{ itemIndex: -1, params: {}, inputs: {}, inputDigests: {}, attemptsBefore: 0, queue: "default" },
      priority: 1,
    });
    return { ...ids, jobId: `${id}-j${i}`, queue: "default", task };
  });
  await fences.openMany(open, Date.now());
}

async function fenceCounts(fences: TaskFenceStore, runIds: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const id of runIds) counts[id] = (await fences.listRun(id)).length;
  return counts;
}

it("removes finished and unrecorded runs' fences, keeps live and resumable ones; a dry run removes none", async () => {
  const { ty } = await homes.open();
  const fences = await taskFenceFor(ty.metadata);
  homes.defer(() => fences.close());
  await ty.metadata.upsertPipeline("fenced", "/srv/fenced.ts");
  await queueRun(ty, fences, "done", "succeeded", 10 * DAY);
  await queueRun(ty, fences, "gone", "succeeded", 0, 3, false);
  await queueRun(ty, fences, "live", "running", 10 * DAY);
  await queueRun(ty, fences, "waiting", "queued", 10 * DAY);
  await queueRun(ty, fences, "stopped-old", "interrupted", 10 * DAY);
  await queueRun(ty, fences, "stopped-new", "interrupted", 0);
  await queueRun(ty, fences, "failed-new", "failed", 0);
  await queueRun(ty, fences, "cancelled-new", "cancelled", 0);
  const all = ["done", "gone", "live", "waiting", "stopped-old", "stopped-new", "failed-new", "cancelled-new"];
  // The running run's owner is alive: gc must not take it for interrupted.
  const lease = await acquireRunLease(ty.metadata, "live");
  homes.defer(() => lease.release());
  const before = await fenceCounts(fences, all);

  const dry = await ty.gc({ dryRun: true });
  expect(dry.fencesRemoved).toBe(5);
  expect(await fenceCounts(fences, all)).toEqual(before);

  // Without an age rule, only what no resume can reattach to goes.
  expect((await ty.gc({})).fencesRemoved).toBe(5);
  expect(await fenceCounts(fences, all)).toEqual({ ...before, done: 0, gone: 0 });

  // Old enough: a resumable run's fences go too (its run stays); a queued or running run's never.
  const aged = await ty.gc({ olderThanMs: DAY });
  expect(aged.runsRemoved).toEqual(["done"]);
  expect(aged.fencesRemoved).toBe(2);
  expect(await fenceCounts(fences, all)).toEqual({ ...before, done: 0, gone: 0, "stopped-old": 0 });
  expect((await ty.metadata.getRun("stopped-old"))?.status).toBe("interrupted");
});

it("removes a run's fences with the run, and the CLI reports the count in text and JSON", async () => {
  const home = homes.tempDir("ty-gc-fences-");
  const ty = await Trainyard.open({ home });
  const fences = await taskFenceFor(ty.metadata);
  await ty.metadata.upsertPipeline("fenced", "/srv/fenced.ts");
  await queueRun(ty, fences, "failed-old", "failed", 10 * DAY, 4);
  await queueRun(ty, fences, "failed-new", "failed", 0, 1);
  await fences.close();
  await ty.close();

  const dry = await cli(["gc", "--older-than", "1d", "--dry-run", "--json"], home);
  expect(dry.code, dry.stderr).toBe(0);
  expect(JSON.parse(dry.stdout)).toMatchObject({ runsRemoved: ["failed-old"], fencesRemoved: 4 });
  // No queue executor: no queue jobs to bound, and nothing said about them.
  expect(JSON.parse(dry.stdout)).not.toHaveProperty("finishedJobsRemoved");
  const text = await cli(["gc", "--older-than", "1d"], home);
  expect(text.code, text.stderr).toBe(0);
  expect(text.stdout).toMatch(/^removed 1 runs and .*, 4 task fences, \d+ temp files$/m);

  const reopened = await Trainyard.open({ home });
  homes.defer(() => reopened.close());
  const after = await taskFenceFor(reopened.metadata);
  homes.defer(() => after.close());
  expect(await fenceCounts(after, ["failed-old", "failed-new"])).toEqual({ "failed-old": 0, "failed-new": 1 });
});
