/**
 * `trainyard triggers preview <pipeline> <monitor>` as a user runs it (the built CLI in a child
 * process) against a home whose model server logged real requests and whose labels landed later.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../engine/support.js";
import { BIN } from "../cli/support.js";
import { HOUR, T0, openMonitorHome, ServedTraffic, writeCsvLabels, type MonitorHome } from "./monitor-support.js";

const PIPELINE = path.join(REPO, "test", "daemon", "fixtures", "monitored-pipeline.ts");
let home: MonitorHome;
let labels: string;
let allLabels: string;

beforeAll(async () => {
  home = await openMonitorHome();
  const traffic = await ServedTraffic.start(home);
  for (const [k, informative] of [0.9, 0, 0, 0].entries()) {
    await traffic.serveWindow(T0 + k * HOUR, { informative, seed: 40 + k, rows: 120 });
  }
  await traffic.close();
  labels = path.join(home.moduleDir, "labels.csv");
  // Labels for every window but the newest, which then has too few to count.
  writeCsvLabels(
    labels,
    traffic.served.filter((s) => s.ts < T0 + 3 * HOUR),
  );
  allLabels = path.join(home.moduleDir, "all-labels.csv");
  writeCsvLabels(allLabels, traffic.served);
}, 60_000);

afterAll(async () => {
  await home?.ty.close();
});

function trainyard(args: string[], labelsFile = labels) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, TRAINYARD_HOME: home.ty.home, NO_COLOR: "1", MONITOR_TEST_LABELS: labelsFile },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("trainyard triggers preview of a monitor", () => {
  it("prints the windows with their metric and labelled rows, and that it would not fire yet", () => {
    const now = new Date(T0 + 4 * HOUR + 60_000).toISOString();
    const r = trainyard(["triggers", "preview", PIPELINE, "auc-drop", "--now", now]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("auc-drop: monitor of delays@production (version 1), evaluated once with no history");
    expect(r.stdout).toMatch(/03:00:00.000Z - 04:00:00.000Z\s+-\s+0\/120 labelled\s+does not count: 0 labelled rows/);
    expect(r.stdout).toMatch(/2026-03-02T02:00:00.000Z - 03:00:00.000Z\s+0\.\d+\s+120\/120 labelled\s+below 0\.65/);
    expect(r.stdout).toMatch(/2026-03-02T00:00:00.000Z - 01:00:00.000Z\s+0\.\d+\s+120\/120 labelled\s+ok/);
    expect(r.stdout).toContain("would not fire");
    expect(r.stdout).toContain("too-few-labels: 1 recent window lacks labels to decide");
    expect(r.stdout).toContain("(labelled rows, newest last: 120, 120, 0)");
  });

  it("says it would fire, with the reason, once the newest window's labels land (JSON)", () => {
    const now = ["--now", new Date(T0 + 4 * HOUR + 60_000).toISOString()];
    const r = trainyard(["triggers", "preview", PIPELINE, "auc-drop", ...now, "--json"]);
    expect(r.code).toBe(0);
    const preview = JSON.parse(r.stdout);
    expect(preview.request).toBeUndefined();
    expect(preview.windows[0]).toMatchObject({ served: 120, labelled: 0, counts: false });
    expect(preview.skips).toEqual([expect.objectContaining({ reason: "too-few-labels" })]);
    const landed = trainyard(["triggers", "preview", PIPELINE, "auc-drop", ...now], allLabels);
    expect(landed.stdout).toMatch(/would fire: a run of monitored with the default params\s+monitor:auc-drop@/);
    expect(landed.stdout).toContain("monitor:auc-drop@2026-03-02T04:00:00.000Z");
    expect(landed.stdout).toMatch(/auc of delays@production 0\.\d+ < 0\.65 for 3 windows of 1h/);
    expect(landed.stdout).toContain("(120, 120, 120 labelled rows)");
  });

  it("names the trigger when the monitored model does not exist", () => {
    const r = spawnSync(process.execPath, [BIN, "triggers", "preview", PIPELINE, "auc-drop"], {
      cwd: REPO,
      encoding: "utf8",
      env: { ...process.env, TRAINYARD_HOME: path.join(home.moduleDir, "empty-home"), NO_COLOR: "1" },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('trigger "auc-drop" monitors model "delays", which does not exist');
  });
});
