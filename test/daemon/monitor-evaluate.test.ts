import type { MonitorEvent } from "../../src/daemon/monitor-evaluate.js";
/**
 * A performance monitor over real served predictions: the model server on 127.0.0.1 answers real
 * requests (its prediction log stamped by a frozen clock), labels land afterwards in a CSV file,
 * JSON lines or a SQLite table, and the windows' AUC must equal the evaluation library's AUC of
 * the same rows as the client saw them.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledMonitor, type MonitorSpec } from "../../src/core/triggers.js";
import { evaluateTrigger } from "../../src/daemon/evaluate-trigger.js";
import { modelsRegisteredBy } from "../../src/daemon/declared-triggers.js";
import { evaluateMonitor } from "../../src/daemon/monitor-evaluate.js";
import { rocAuc } from "../../src/lib/evaluate/metrics.js";
import {
  HOUR,
  T0,
  openMonitorHome,
  ServedTraffic,
  writeCsvLabels,
  writeJsonLabels,
  writeSqliteLabels,
  type MonitorHome,
  type ServedRow,
} from "./monitor-support.js";

let home: MonitorHome;
let traffic: ServedTraffic;
/** Served rows per hourly window: two good ones, then three whose labels no longer follow the score. */
const windows: ServedRow[][] = [];

beforeAll(async () => {
  home = await openMonitorHome();
  traffic = await ServedTraffic.start(home);
  const quality = [0.9, 0.9, 0, 0, 0];
  for (const [k, informative] of quality.entries()) {
    windows.push(await traffic.serveWindow(T0 + k * HOUR, { informative, seed: 100 + k }));
  }
}, 60_000);

afterAll(async () => {
  await traffic?.close();
  await home?.ty.close();
});

function monitor(spec: Partial<MonitorSpec<unknown>> = {}, name = "auc-drop"): CompiledMonitor {
  const p = pipeline("delays").monitor(name, {
    model: "delays",
    metric: "auc",
    threshold: 0.65,
    window: "1h",
    windows: 3,
    minLabelledRows: 100,
    labels: { source: "labels.csv", key: "prediction_id", column: "delayed" },
    ...spec,
  });
  return compileTriggers(p)[0] as CompiledMonitor;
}

const ctx = () => ({ moduleDir: home.moduleDir, monitor: { registry: home.registry } });
const direct = () => ({ registry: home.registry, moduleDir: home.moduleDir });
const after5h = T0 + 5 * HOUR + 5 * 60_000;
const oracle = (rows: readonly ServedRow[]) =>
  rocAuc(
    Float64Array.from(rows, (r) => r.label),
    Float64Array.from(rows, (r) => r.score),
  );

describe("monitor evaluation over served predictions", () => {
  it("does not fire before labels land, and says why", async () => {
    rmSync(join(home.moduleDir, "labels.csv"), { force: true });
    const r = await evaluateTrigger(monitor(), null, after5h, ctx());
    expect(r.requests).toEqual([]);
    expect(r.skips).toEqual([expect.objectContaining({ reason: "too-few-labels" })]);
    expect(r.skips[0].message).toContain("a window needs >= 100 labelled rows");
    expect(r.skips[0].message).toContain("newest last: 0, 0, 0");
    const detail = await evaluateMonitor(monitor(), undefined, after5h, direct());
    expect(detail.notes.join("\n")).toMatch(/no labels yet: .*labels\.csv does not exist/);
    expect(detail.windows.slice(0, 5).map((w) => w.served)).toEqual([150, 150, 150, 150, 150]);
  });

  it("computes each window's AUC as the library does on the same rows, and fires after 3 bad windows", async () => {
    writeCsvLabels(join(home.moduleDir, "labels.csv"), windows.flat());
    const m = monitor();
    const detail = await evaluateMonitor(m, undefined, after5h, direct());
    const newestFirst = [...windows].reverse();
    detail.windows.slice(0, 5).forEach((w, i) => {
      expect(w).toMatchObject({ start: T0 + (4 - i) * HOUR, end: T0 + (5 - i) * HOUR, served: 150, labelled: 150 });
      expect(w.value).toBe(oracle(newestFirst[i]));
    });
    expect(oracle(windows[0])).toBeGreaterThan(0.65);
    for (const bad of windows.slice(2)) expect(oracle(bad)).toBeLessThan(0.65);

    const r = await evaluateTrigger(m, null, after5h, ctx());
    expect(r.requests).toHaveLength(1);
    const [req] = r.requests;
    expect(req.key).toBe(`monitor:auc-drop@${new Date(T0 + 5 * HOUR).toISOString()}`);
    const auc = String(Number(oracle(windows[4]).toFixed(3)));
    expect(req.reason).toBe(`auc of delays@production ${auc} < 0.65 for 3 windows of 1h (150, 150, 150 labelled rows)`);
    expect((req.event as MonitorEvent | undefined)?.windows.map((w) => w.end)).toEqual(
      [3, 4, 5].map((h) => T0 + h * HOUR),
    );
    expect(req.event).toMatchObject({ kind: "monitor", signal: "metric", model: "delays", alias: "production" });
    expect(req.event?.version).toBe(1);
    expect(r.cursor).toMatchObject({ armed: false, lastFireAt: after5h, fired: { key: req.key, version: 1 } });

    // Evaluated again from the same stored cursor (a crash before the tick was written): the same key.
    const again = await evaluateTrigger(m, null, after5h, ctx());
    expect(again.requests.map((q) => q.key)).toEqual([req.key]);
    // From the new cursor, windows already used as evidence never fire again.
    const next = await evaluateTrigger(m, JSON.parse(JSON.stringify(r.cursor)), after5h + 60_000, ctx());
    expect(next.requests).toEqual([]);
    expect(next.skips).toEqual([]);
  });

  it("joins labels by row key from JSON lines or a SQLite table to the same windows", async () => {
    writeJsonLabels(join(home.moduleDir, "labels.jsonl"), windows.flat());
    writeSqliteLabels(join(home.moduleDir, "arrivals.db"), windows.flat());
    const byId = await evaluateMonitor(monitor(), undefined, after5h, direct());
    for (const source of ["labels.jsonl", "sqlite:arrivals.db#arrivals"]) {
      const m = monitor({ labels: { source, key: "flight_id", column: "delayed" } });
      const r = await evaluateMonitor(m, undefined, after5h, direct());
      expect(r.windows.map((w) => [w.labelled, w.value])).toEqual(byId.windows.map((w) => [w.labelled, w.value]));
      expect(r.request?.reason).toBe(byId.request?.reason);
    }
  });

  it("does not fire on windows with too few labelled rows, and says so", async () => {
    // Labels for only 60 rows of each bad window.
    writeCsvLabels(
      join(home.moduleDir, "few.csv"),
      windows.slice(2).flatMap((w) => w.slice(0, 60)),
    );
    const m = monitor({ labels: { source: "few.csv", key: "prediction_id", column: "delayed" } });
    const r = await evaluateTrigger(m, null, after5h, ctx());
    expect(r.requests).toEqual([]);
    expect(r.skips).toEqual([expect.objectContaining({ reason: "too-few-labels" })]);
    expect(r.skips[0].message).toContain("newest last: 60, 60, 60");
    // With a lower bar the same rows are enough.
    const low = await evaluateTrigger(monitor({ labels: m.labels, minLabelledRows: 50 }), null, after5h, ctx());
    expect(low.requests[0]?.reason).toContain("(60, 60, 60 labelled rows)");
  });

  it("waits without failing for a model its own pipeline registers but has not registered yet", async () => {
    // A fresh home: the flagship's monitor must not fail (and back off for minutes) before the first run registers.
    const m = monitor({ model: "flights" }, "fresh");
    const r = await evaluateMonitor(m, undefined, after5h, { ...direct(), declaredModels: ["flights"] });
    expect(r.request).toBeUndefined();
    expect(r.decision.skips).toEqual([expect.objectContaining({ reason: "alias-missing" })]);
    expect(r.decision.skips[0].message).toContain("flights is not registered yet (its pipeline registers it)");
    // A model neither registered nor registered by its pipeline is still an error naming the trigger.
    const typoCtx = { ...direct(), declaredModels: ["flights"] };
    const typo = evaluateMonitor(monitor({ model: "flihgts" }, "typo"), undefined, after5h, typoCtx);
    await expect(typo).rejects.toMatchObject({ code: "TRIGGER_INVALID", fields: { trigger: "typo", field: "model" } });
  });

  it("knows the models a pipeline registers from its side-effect steps", () => {
    const p = pipeline("delays-train");
    const model = p.step("train", { run: () => ({ ok: true }) });
    p.step("register", { sideEffect: true, config: { name: "delays" }, inputs: { model }, run: () => ({ v: 1 }) });
    p.step("notes", { config: { name: "not-a-model" }, run: () => ({}) });
    expect(modelsRegisteredBy(p)).toEqual(["delays"]);
  });

  it("names the trigger when its model does not exist, its metric is unknown or cannot degrade that way", async () => {
    const missing = evaluateTrigger(monitor({ model: "nope" }, "ghost"), null, after5h, ctx());
    const named = { trigger: "ghost", field: "model" };
    await expect(missing).rejects.toMatchObject({ code: "TRIGGER_INVALID", fields: named });
    await expect(missing).rejects.toThrow(/"ghost" monitors model "nope", which does not exist/);
    const unknown = evaluateTrigger(monitor({ metric: "f7" }), null, after5h, ctx());
    const metric = { trigger: "auc-drop", field: "metric" };
    await expect(unknown).rejects.toMatchObject({ code: "MONITOR_METRIC", fields: metric });
    const rmse = evaluateTrigger(monitor({ metric: "rmse", threshold: 1 }), null, after5h, ctx());
    await expect(rmse).rejects.toMatchObject({ code: "MONITOR_METRIC", fields: { field: "direction" } });
  });
});
