/**
 * When a monitor fires, and when it holds back, over real served predictions and labels on a
 * frozen clock: one bad window is enough here (windows: 1), so flapping would show at once.
 * Hysteresis keeps it quiet until the AUC recovers past 0.65 + 0.2; the cool-down, the run it
 * started while still running, and that run just rejected each hold a breach back, with a reason.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledMonitor } from "../../src/core/triggers.js";
import type { TriggerRun } from "../../src/daemon/monitor-decision.js";
import { evaluateTrigger, type TriggerEvaluation } from "../../src/daemon/evaluate-trigger.js";
import { rocAuc } from "../../src/lib/evaluate/metrics.js";
import {
  HOUR,
  T0,
  openMonitorHome,
  ServedTraffic,
  writeCsvLabels,
  type MonitorHome,
  type ServedRow,
} from "./monitor-support.js";

let home: MonitorHome;
let traffic: ServedTraffic;
const served: ServedRow[][] = [];
/** Label quality per hourly window: 0 bad (AUC ~0.5), 0.5 middling (~0.75), 1 strong (AUC 1). */
const QUALITY = [0, 0.5, 0, 0, 1, 0, 0, 0, 0, 0, 0];

beforeAll(async () => {
  home = await openMonitorHome();
  traffic = await ServedTraffic.start(home);
  for (const [k, informative] of QUALITY.entries()) {
    served.push(await traffic.serveWindow(T0 + k * HOUR, { informative, seed: 500 + k }));
  }
  writeCsvLabels(join(home.moduleDir, "labels.csv"), served.flat());
}, 120_000);

afterAll(async () => {
  await traffic?.close();
  await home?.ty.close();
});

const m = compileTriggers(
  pipeline("delays").monitor("auc-drop", {
    model: "delays",
    metric: "auc",
    threshold: 0.65,
    hysteresis: 0.2,
    window: "1h",
    windows: 1,
    minLabelledRows: 100,
    coolDown: "3h",
    labels: { source: "labels.csv", key: "prediction_id", column: "delayed" },
  }),
)[0] as CompiledMonitor;

const at = (hours: number, minutes: number) => T0 + hours * HOUR + minutes * 60_000;
const keyOf = (windowEndHour: number) => `monitor:auc-drop@${new Date(T0 + windowEndHour * HOUR).toISOString()}`;

let cursor: unknown = null;
async function evaluate(now: number, runs?: TriggerRun[]): Promise<TriggerEvaluation> {
  const ctx = { moduleDir: home.moduleDir, monitor: { registry: home.registry }, triggerRuns: runs };
  const r = await evaluateTrigger(m, cursor, now, ctx);
  cursor = JSON.parse(JSON.stringify(r.cursor));
  return r;
}

describe("monitor firing", () => {
  it("serves windows whose AUC falls in the bands the scenario needs", () => {
    const aucOf = (rows: ServedRow[]) =>
      rocAuc(
        Float64Array.from(rows, (r) => r.label),
        Float64Array.from(rows, (r) => r.score),
      );
    const auc = served.map(aucOf);
    QUALITY.forEach((q, k) => {
      if (q === 0) expect(auc[k]).toBeLessThan(0.65);
      if (q === 0.5) expect(auc[k]).toBeGreaterThan(0.65);
      if (q === 0.5) expect(auc[k]).toBeLessThan(0.85);
      if (q === 1) expect(auc[k]).toBeGreaterThanOrEqual(0.85);
    });
  });

  it("fires, holds back through cool-down and hysteresis, re-arms on recovery, respects its runs", async () => {
    // Window 0 is bad: fire.
    const first = await evaluate(at(1, 1));
    expect(first.requests.map((r) => r.key)).toEqual([keyOf(1)]);
    const run1: TriggerRun = { id: "run-1", key: keyOf(1), status: "succeeded", finishedAt: at(1, 30) };

    // Window 1 recovers above the threshold but not past threshold + hysteresis: nothing to do, still disarmed.
    const second = await evaluate(at(2, 1), [run1]);
    expect(second.requests).toEqual([]);
    expect(second.skips).toEqual([]);
    expect(second.cursor).toMatchObject({ armed: false, fired: { runId: "run-1" } });

    // Window 2 is bad again, within 3 h of the fire: the cool-down holds it back.
    const third = await evaluate(at(3, 1), [run1]);
    expect(third.requests).toEqual([]);
    expect(third.skips).toEqual([expect.objectContaining({ key: keyOf(3), reason: "cool-down" })]);

    // Window 3 is bad after the cool-down: window 1 (~0.75) never re-armed it, so no flapping.
    const fourth = await evaluate(at(4, 2), [run1]);
    expect(fourth.requests).toEqual([]);
    expect(fourth.skips).toEqual([expect.objectContaining({ key: keyOf(4), reason: "not-rearmed" })]);
    expect(fourth.skips[0].message).toContain("auc >= 0.85, threshold 0.65 + hysteresis 0.2");

    // Window 4 recovers past 0.85: re-armed. Window 5 is bad: fire again.
    const fifth = await evaluate(at(5, 2), [run1]);
    expect(fifth.requests).toEqual([]);
    expect(fifth.cursor).toMatchObject({ armed: true });
    const sixth = await evaluate(at(6, 2), [run1]);
    expect(sixth.requests.map((r) => r.key)).toEqual([keyOf(6)]);

    // Window 6 is bad while the retraining it started still runs: held back, even once the cool-down is over.
    const running: TriggerRun = { id: "run-2", key: keyOf(6), status: "running" };
    const seventh = await evaluate(at(9, 30), [running]);
    expect(seventh.requests).toEqual([]);
    expect(seventh.skips).toEqual([expect.objectContaining({ key: keyOf(9), reason: "retraining-active" })]);
    expect(seventh.skips[0].message).toContain("run run-2 it started is still running");

    // That run was just rejected: still quiet for a cool-down after its end.
    const rejected: TriggerRun = { ...running, status: "rejected", finishedAt: at(9, 40) };
    const eighth = await evaluate(at(10, 1), [rejected]);
    expect(eighth.requests).toEqual([]);
    expect(eighth.skips).toEqual([expect.objectContaining({ key: keyOf(10), reason: "just-rejected" })]);

    // A cool-down after the rejection, the degradation is still there: it fires once more.
    const ninth = await evaluate(at(12, 41), [rejected]);
    expect(ninth.requests.map((r) => r.key)).toEqual([keyOf(11)]);
  });
});
