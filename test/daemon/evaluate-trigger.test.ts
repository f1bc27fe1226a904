/** The daemon's single entry point: any trigger, a JSON cursor and a frozen clock in; requests, skips, cursor out. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers } from "../../src/core/triggers.js";
import { evaluateTrigger } from "../../src/daemon/evaluate-trigger.js";

let moduleDir: string;
beforeEach(() => {
  moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-eval-trigger-"));
});
afterEach(() => fs.rmSync(moduleDir, { recursive: true, force: true }));

const at = (iso: string) => Date.parse(iso);

describe("evaluateTrigger", () => {
  const p = pipeline("loop")
    .schedule("hourly", { cron: "0 * * * *", catchUp: "latest" })
    .sensor("landing", { folder: "landing", settle: "1s", debounce: "2s" })
    .monitor("auc", { model: "delays", metric: "auc", threshold: 0.7 });
  const [hourly, landing, auc] = compileTriggers(p);

  it("turns schedule ticks into keyed run requests and skips, with a JSON cursor and the next wake-up", async () => {
    const cursor = { evaluatedUntil: at("2026-01-01T05:30:00Z") };
    const first = await evaluateTrigger(hourly, cursor, at("2026-01-01T07:10:00Z"), { moduleDir });
    expect(first.requests).toEqual([
      expect.objectContaining({
        key: "schedule:hourly@2026-01-01T07:00:00.000Z",
        trigger: "hourly",
        kind: "schedule",
        tickAt: at("2026-01-01T07:00:00Z"),
      }),
    ]);
    expect(first.skips).toEqual([
      expect.objectContaining({ key: "schedule:hourly@2026-01-01T06:00:00.000Z", reason: "catch-up-limit" }),
    ]);
    expect(first.nextWakeAt).toBe(at("2026-01-01T08:00:00Z"));
    const stored = JSON.parse(JSON.stringify(first.cursor));
    const again = await evaluateTrigger(hourly, stored, at("2026-01-01T07:50:00Z"), { moduleDir });
    expect(again.requests).toEqual([]);
  });

  it("reads a sensor's folder relative to the pipeline module, and wakes when the debounce window closes", async () => {
    fs.mkdirSync(path.join(moduleDir, "landing"));
    fs.writeFileSync(path.join(moduleDir, "landing", "2001-01.csv"), "jan\n");
    const now = Date.now() + 5_000;
    const first = await evaluateTrigger(landing, null, now, { moduleDir });
    expect(first.requests).toEqual([]);
    expect(first.nextWakeAt).toBe(now + 1_000); // the 1 s poll comes before the 2 s debounce closes
    const second = await evaluateTrigger(landing, JSON.parse(JSON.stringify(first.cursor)), now + 2_000, { moduleDir });
    expect(second.requests).toEqual([expect.objectContaining({ trigger: "landing", kind: "sensor" })]);
    expect(second.requests[0].files?.map((f) => f.name)).toEqual(["2001-01.csv"]);
    fs.rmSync(path.join(moduleDir, "landing"), { recursive: true });
    const gone = await evaluateTrigger(landing, second.cursor, now + 3_000, { moduleDir });
    expect(gone.skips.map((s) => s.reason)).toEqual(["folder-missing"]);
  });

  it("refuses to evaluate a monitor without the registry it reads, naming the trigger", async () => {
    await expect(evaluateTrigger(auc, null, Date.now(), { moduleDir })).rejects.toMatchObject({
      code: "TRIGGER_INVALID",
      fields: { trigger: "auc" },
    });
  });
});
