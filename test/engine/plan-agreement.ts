/**
 * Plan versus run: plans a pipeline, runs it with the same request, and checks that every
 * decision the plan made is what the run then did ("reuse" reused, "run" did not, a map's
 * reused item count matches). "depends" steps are decided by the run; their outcome is returned.
 */
import { expect } from "vitest";
import type { PlanResult } from "../../src/engine/planner.js";
import type { RunRequest, RunResult, Trainyard } from "../../src/engine/trainyard.js";
import type { Pipeline } from "../../src/index.js";
import type { StepRunRecord } from "../../src/store/metadata-store.js";

export interface Agreement {
  plan: PlanResult;
  run: RunResult;
  /** The run's decision per step: "reuse" / "run", and for map steps "reuse 2/3". */
  did: Record<string, string>;
  /** The plan's action per step. */
  planned: Record<string, string>;
}

type Request = Pick<RunRequest, "params" | "overrides" | "profile" | "force">;

export async function planThenRun(
  ty: Trainyard,
  target: string | Pipeline<any>,
  req: Request = {},
): Promise<Agreement> {
  const plan = await ty.plan(target, req);
  const run = await ty.run(target, { ...req, concurrency: 2 });
  const records = await ty.metadata.listStepRuns(run.runId);
  const did: Record<string, string> = {};
  const planned: Record<string, string> = {};
  for (const step of plan.steps) {
    planned[step.step] = step.items ? `${step.action} ${step.items.reused}/${step.items.total}` : step.action;
    const parent = records.find((r) => r.stepId === step.step && r.itemIndex === -1);
    const items = records.filter((r) => r.stepId === step.step && r.itemIndex >= 0);
    did[step.step] = decisionOf(parent, items, step.items !== undefined);
    if (step.action === "depends") continue;
    const decisions = `planned ${planned[step.step]}, the run did ${did[step.step]}`;
    const where = `step "${step.step}" of ${plan.pipeline}: ${decisions}`;
    if (step.items) {
      expect(items.length, where).toBe(step.items.total);
      expect(items.filter((i) => i.cached).length, where).toBe(step.items.reused);
      continue;
    }
    expect(parent?.cached ?? false, where).toBe(step.action === "reuse");
    if (step.action === "reuse") expect(parent?.cachedFrom, where).toBe(step.from);
    else expect(parent?.status, where).not.toBe("skipped");
  }
  return { plan, run, did, planned };
}

function decisionOf(parent: StepRunRecord | undefined, items: StepRunRecord[], isMap: boolean): string {
  if (!parent) return "nothing";
  if (parent.status === "skipped" || parent.status === "cancelled") return parent.status;
  if (!isMap && items.length === 0) return parent.cached ? "reuse" : "run";
  const reused = items.filter((i) => i.cached).length;
  return `${reused === items.length && items.length > 0 ? "reuse" : "run"} ${reused}/${items.length}`;
}
