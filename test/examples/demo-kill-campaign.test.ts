/**
 * A short kill campaign during the autonomy demo's loop (3 kill -9 of `trainyard up` on the
 * flagship while months land); the 50-kill version is bench/demo-kill-campaign.ts. See
 * demo-kill-campaign.ts for what is checked.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { formatDemoCampaign, runDemoKillCampaign } from "./demo-kill-campaign.js";

describe("kill campaign during the demo loop", () => {
  it("after 3 kill -9 of trainyard up while months land, each month started one run and every run ended", async () => {
    const seed = Number(process.env.TRAINYARD_CAMPAIGN_SEED ?? Date.now() % 100_000);
    const r = await runDemoKillCampaign({ kills: 3, seed, landEveryS: 6 });
    const summary = formatDemoCampaign(r).join("\n");
    console.log(summary);
    expect(r.report.problems, summary).toEqual([]);
    expect(r.fsckOk, summary).toBe(true);
    // The checks only mean something if the loop did work: months landed and their runs ended.
    expect(r.sensorTicks).toBeGreaterThanOrEqual(2);
    expect(r.report.runsByStatus.succeeded ?? 0).toBeGreaterThanOrEqual(1);
    fs.rmSync(r.home.replace(/\/home$/, ""), { recursive: true, force: true });
  }, 600_000);
});
