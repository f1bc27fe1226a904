/**
 * A short daemon kill campaign (5 kills, one at a named crash point) in the test suite; the
 * 50-kill version is bench/daemon-kill-campaign.ts. See daemon-kill-campaign.ts for what is checked.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { formatCampaign, runDaemonKillCampaign } from "./daemon-kill-campaign.js";

describe("daemon kill campaign", () => {
  it("after 5 kills of the daemon (random kill -9 and a crash point), " +
    "no tick is lost or doubled and every file ran once", async () => {
    const seed = Number(process.env.TRAINYARD_CAMPAIGN_SEED ?? Date.now() % 100_000);
    const r = await runDaemonKillCampaign({ kills: 5, seed });
    const summary = formatCampaign(r).join("\n");
    console.log(summary);
    expect(r.report.problems, summary).toEqual([]);
    expect(r.randomKills).toBe(4);
    // The run-level checks only mean something if the campaign did work: files, ticks and runs.
    expect(r.filesLanded).toBeGreaterThan(0);
    expect(r.report.runsByStatus.succeeded ?? 0).toBeGreaterThanOrEqual(r.sensorTicks + 2);
    fs.rmSync(r.home.replace(/\/home$/, ""), { recursive: true, force: true });
  }, 300_000);
});
