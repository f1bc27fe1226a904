import type { MonitorEvent } from "../../src/daemon/monitor-evaluate.js";
/**
 * The drift signal: rows served by the production version, compared with that version's
 * reference profile (found through the run that registered it), fire a monitor when their PSI
 * stays above the threshold for N windows; unshifted inputs do not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledMonitor } from "../../src/core/triggers.js";
import { evaluateTrigger } from "../../src/daemon/evaluate-trigger.js";
import { evaluateMonitor } from "../../src/daemon/monitor-evaluate.js";
import { referenceProfileLoader } from "../../src/daemon/monitor-reference.js";
import { HOUR, T0, openMonitorHome, ServedTraffic, type MonitorHome } from "./monitor-support.js";

let home: MonitorHome;
let traffic: ServedTraffic;

beforeAll(async () => {
  home = await openMonitorHome();
  traffic = await ServedTraffic.start(home);
  // Two windows like the training data, then two whose inputs moved up by 0.6.
  for (const [k, shift] of [0, 0, 0.6, 0.6].entries()) {
    await traffic.serveWindow(T0 + k * HOUR, { informative: 1, shift, seed: 900 + k });
  }
}, 60_000);

afterAll(async () => {
  await traffic?.close();
  await home?.ty.close();
});

const m = compileTriggers(
  pipeline("delays").monitor("inputs", {
    model: "delays",
    metric: "auc",
    threshold: 0.65,
    window: "1h",
    windows: 2,
    minLabelledRows: 100,
    drift: { threshold: 0.2 },
  }),
)[0] as CompiledMonitor;

const ctx = () => ({
  moduleDir: home.moduleDir,
  monitor: { registry: home.registry, referenceProfile: referenceProfileLoader(home.ty) },
});

describe("monitor drift signal", () => {
  it("stays quiet on inputs like the training data", async () => {
    const now = T0 + 2 * HOUR + 60_000;
    const r = await evaluateMonitor(m, undefined, now, { ...ctx().monitor, moduleDir: home.moduleDir });
    expect(r.notes).toEqual([]);
    const measured = r.drift?.slice(0, 2).map((w) => [w.served, w.column, w.counts]);
    expect(measured).toEqual([
      [150, "x", true],
      [150, "x", true],
    ]);
    for (const w of r.drift!.slice(0, 2)) expect(w.psi).toBeLessThan(0.2);
    expect(r.request).toBeUndefined();
  });

  it("fires when the served inputs shift for 2 windows, with the PSI and row counts in its reason", async () => {
    const now = T0 + 4 * HOUR + 60_000;
    const r = await evaluateTrigger(m, null, now, ctx());
    expect(r.requests).toHaveLength(1);
    const [req] = r.requests;
    expect(req.reason).toMatch(
      /^input drift of delays@production: PSI of x \d+(\.\d+)? > 0\.2 for 2 windows of 1h \(150, 150 served rows\)$/,
    );
    expect(req.event).toMatchObject({ signal: "drift", threshold: 0.2, direction: "above" });
    const event = req.event as MonitorEvent;
    expect(event.windows.map((w) => w.end)).toEqual([T0 + 3 * HOUR, T0 + 4 * HOUR]);
    for (const w of event.windows) expect((w as { psi: number }).psi).toBeGreaterThan(0.2);
  });

  it("says there is no drift signal when the profile cannot be found", async () => {
    const now = T0 + 4 * HOUR + 60_000;
    const r = await evaluateMonitor(m, undefined, now, { registry: home.registry, moduleDir: home.moduleDir });
    expect(r.request).toBeUndefined();
    expect(r.notes.join("\n")).toMatch(/no drift signal: the reference profile [0-9a-f]{12} is not in this home/);
  });
});
