/** Run-status triggers over real run records: small pipelines run (succeeded, rejected, failed) in a temp home. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Fatal, Rejected } from "../../src/core/errors.js";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledTrigger } from "../../src/core/triggers.js";
import { evaluateTrigger, type TriggerEvaluation } from "../../src/daemon/evaluate-trigger.js";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { rejectionOf, useHomes } from "../engine/support.js";

const homes = useHomes();

/** The upstream pipeline: its `outcome` param decides how the run ends. */
function upstream() {
  const p = pipeline("train", {
    params: z.object({
      outcome: z.enum(["succeed", "reject", "fail"]).default("succeed"),
      month: z.string().default("2001-01"),
    }),
  });
  p.step("gate", {
    params: ["outcome", "month"],
    run: (ctx) => {
      if (ctx.params.outcome === "reject") throw new Rejected("gate auc >= 0.7 failed: 0.61");
      if (ctx.params.outcome === "fail") throw new Fatal("training diverged");
      return ctx.params.month;
    },
  });
  return p;
}

function deployOnRunStatus(statuses: Array<"succeeded" | "rejected" | "failed">): CompiledTrigger {
  const params = z.object({ month: z.string().default("none"), note: z.string().default("") });
  const p = pipeline("report", { params });
  p.step("noop", { run: () => 1 });
  p.onRunStatus("after-train", {
    pipeline: "train",
    status: statuses,
    forwardParams: ["month"],
    params: { note: "auto" },
  });
  return compileTriggers(p)[0];
}

async function evaluate(t: CompiledTrigger, cursor: unknown, ty: Trainyard): Promise<TriggerEvaluation> {
  const r = await evaluateTrigger(t, cursor, Date.now(), { moduleDir: process.cwd(), runs: ty, pipeline: "report" });
  return JSON.parse(JSON.stringify(r)) as TriggerEvaluation;
}

describe("run-status trigger", () => {
  it("requests one run per upstream run that succeeded or was rejected, keyed by its run id, once", async () => {
    const { ty } = await homes.open();
    const t = deployOnRunStatus(["succeeded", "rejected"]);
    const old = await ty.run(upstream(), { params: { month: "2000-12" } });
    expect(old.status).toBe("succeeded");
    // A new trigger starts from now: runs that ended before its first evaluation start nothing.
    const baseline = await evaluate(t, null, ty);
    expect(baseline.requests).toEqual([]);
    expect(baseline.skips).toEqual([
      { reason: "baseline", message: expect.stringContaining('1 run(s) of "train" that already ended') },
    ]);

    await new Promise((r) => setTimeout(r, 5));
    const ok = await ty.run(upstream(), { params: { month: "2001-02" } });
    const rejected = await ty.run(upstream(), { params: { outcome: "reject", month: "2001-03" } });
    const failed = await ty.run(upstream(), { params: { outcome: "fail" } });
    expect([ok.status, rejected.status, failed.status]).toEqual(["succeeded", "rejected", "failed"]);

    const fired = await evaluate(t, baseline.cursor, ty);
    expect(fired.requests.map((r) => r.key)).toEqual([
      `run-status:after-train:${ok.runId}`,
      `run-status:after-train:${rejected.runId}`,
    ]);
    expect(fired.requests.map((r) => r.params)).toEqual([
      { note: "auto", month: "2001-02" },
      { note: "auto", month: "2001-03" },
    ]);
    expect(fired.requests[1].reason).toMatch(new RegExp(`run ${rejected.runId} of "train" ended rejected at `));
    expect(fired.requests[1].reason).toMatch(/; carries month="2001-03"$/);
    expect(fired.requests[0].event).toEqual(
      expect.objectContaining({
        runId: ok.runId,
        status: "succeeded",
        pipeline: "train",
      }),
    );

    const again = await evaluate(t, fired.cursor, ty);
    expect(again.requests).toEqual([]);
    expect(again.skips.map((s) => s.reason)).toEqual(["no-new-runs"]);
  });

  it("counts a run found dead during the first evaluation as history: it starts nothing", async () => {
    const { ty } = await homes.open();
    const t = compileTriggers(
      pipeline("report").onRunStatus("after-crash", { pipeline: "train", status: "interrupted" }),
    )[0];
    const runId = "20260101-000000-dead01";
    const now = Date.now();
    await ty.metadata.createRun({
      id: runId,
      pipeline: "train",
      modulePath: "/x/train.ts",
      params: {},
      trigger: "manual",
      status: "running",
      codeVersion: "x",
      createdAt: now - 20 * 60_000,
      startedAt: now - 20 * 60_000,
      options: {},
      pid: 4242,
    });
    // Owned by a process on another host whose last heartbeat was 10 minutes ago: what a lost machine leaves.
    const owner = { pid: 4242, host: "elsewhere.invalid", bootId: "other-boot", startTicks: 77 };
    const heartbeatAt = now - 10 * 60_000;
    await ty.metadata.claimRunLease({ runId, owner, token: "t1", acquiredAt: heartbeatAt, heartbeatAt });
    // The trigger's first evaluation is what reconciles it (Trainyard.listRuns): it was running until then.
    const baseline = await evaluate(t, null, ty);
    expect(baseline.requests).toEqual([]);
    expect((await ty.getRun(runId))?.status).toBe("interrupted");
    expect((await ty.getRun(runId))?.finishedAt).toBe(heartbeatAt);
    const later = await evaluate(t, baseline.cursor, ty);
    expect(later.requests).toEqual([]);
    expect(later.skips.map((s) => s.reason)).toEqual(["no-new-runs"]);
  });

  it("fires for a run reconciled as interrupted after the trigger started, though it ended in the past", async () => {
    const { ty } = await homes.open();
    const t = compileTriggers(
      pipeline("report").onRunStatus("after-crash", { pipeline: "train", status: "interrupted" }),
    )[0];
    const baseline = await evaluate(t, null, ty);
    const runId = "20260101-000000-dead02";
    const now = Date.now();
    await ty.metadata.createRun({
      id: runId,
      pipeline: "train",
      modulePath: "/x/train.ts",
      params: {},
      trigger: "manual",
      status: "running",
      codeVersion: "x",
      createdAt: now - 20 * 60_000,
      startedAt: now - 20 * 60_000,
      options: {},
      pid: 4242,
    });
    const owner = { pid: 4242, host: "elsewhere.invalid", bootId: "other-boot", startTicks: 77 };
    const heartbeatAt = now - 10 * 60_000;
    await ty.metadata.claimRunLease({ runId, owner, token: "t2", acquiredAt: heartbeatAt, heartbeatAt });
    const r = await evaluate(t, baseline.cursor, ty);
    expect(r.requests.map((q) => q.key)).toEqual([`run-status:after-crash:${runId}`]);
    expect(r.requests[0].reason).toContain(`ended interrupted at ${new Date(heartbeatAt).toISOString()}`);
    expect((await evaluate(t, r.cursor, ty)).requests).toEqual([]);
  });

  it("fails with the trigger's name when the upstream run's params map to an invalid run", async () => {
    const { ty } = await homes.open();
    const p = pipeline("report", { params: z.object({ month: z.number().default(0) }) });
    p.onRunStatus("after-train", { pipeline: "train", forwardParams: ["month"] });
    const [t] = compileTriggers(p);
    const baseline = await evaluate(t, null, ty);
    await new Promise((r) => setTimeout(r, 5));
    await ty.run(upstream(), { params: { month: "2001-02" } });
    const err = await rejectionOf(evaluateTrigger(t, baseline.cursor, Date.now(), { moduleDir: ".", runs: ty }));
    expect(err.code).toBe("TRIGGER_FAILED");
    expect(err.message).toMatch(/^trigger "after-train": run \S+ of "train" maps to an invalid run: /);
    expect(err.message).toContain('param "month" is invalid');
  });
});
