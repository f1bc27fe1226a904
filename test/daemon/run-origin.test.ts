/**
 * Every run the daemon launches says what started it: `trainyard show <run>` (and `show --json`)
 * prints the trigger's kind and name, the tick's time, the event (files and digests) and the
 * reason; `trainyard runs` lists the trigger. A real daemon serves a file sensor and a schedule.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeTickEvent } from "../../src/engine/run-origin.js";
import { cli } from "../cli/support.js";
import { DAEMON_FIXTURES, FAST, readLedger, startDaemon, TICKING, waitFor } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-origin-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const LANDING = path.join(DAEMON_FIXTURES, "landing.ts");

// A landed file's digest, with its scheme as the sensor records it (docs/digests.md).
const sha256 = (bytes: string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

describe("what started a run", () => {
  it("show prints a sensor run's files and digests and a schedule run's tick; runs lists both triggers", async () => {
    const home = path.join(root, "home");
    const landing = path.join(root, "landing");
    fs.mkdirSync(landing);
    const d = startDaemon(home, [LANDING, TICKING, ...FAST], { LANDING_DIR: landing });
    let sensorRun: string;
    let scheduleRun: string;
    try {
      await waitFor("the daemon to lead", () => /leading/.test(d.log()), 30_000, d.log);
      fs.writeFileSync(path.join(landing, "jan.csv"), "a\n1\n");
      fs.writeFileSync(path.join(landing, "feb.csv"), "a\n22\n");
      sensorRun = (
        await waitFor(
          "the sensor's run",
          async () =>
            (
              await readLedger(home, "landed/new-csv")
            ).runs.find((r) => r.trigger === "sensor:new-csv" && r.status === "succeeded"),
          60_000,
          d.log,
        )
      ).id;
      scheduleRun = (
        await waitFor(
          "a schedule run",
          async () =>
            (
              await readLedger(home, "ticking/every-2s")
            ).runs.find((r) => r.trigger === "schedule:every-2s" && r.status === "succeeded"),
          60_000,
          d.log,
        )
      ).id;
    } finally {
      d.child.kill("SIGTERM");
      await d.exited;
    }

    const shown = await cli(["show", sensorRun], home);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/trigger\s+sensor:new-csv/);
    expect(shown.stdout).toMatch(/tick\s+sensor "new-csv" at \d{4}-\d\d-\d\dT/);
    expect(shown.stdout).toMatch(/reason\s+.*(2 files|jan\.csv)/);
    expect(shown.stdout).toMatch(/event\s+2 files:/);
    // The digests are the files' own sha256, computed here independently.
    expect(shown.stdout, shown.stdout).toContain(`jan.csv  ${sha256("a\n1\n")}  (4 bytes)`);
    expect(shown.stdout, shown.stdout).toContain(`feb.csv  ${sha256("a\n22\n")}  (5 bytes)`);

    const json = await cli(["show", sensorRun, "--json"], home);
    const origin = JSON.parse(json.stdout).origin;
    expect(origin).toMatchObject({ trigger: "landed/new-csv", kind: "sensor", name: "new-csv" });
    expect(origin.event.files.map((f: { name: string; digest: string }) => [f.name, f.digest]).sort()).toEqual([
      ["feb.csv", sha256("a\n22\n")],
      ["jan.csv", sha256("a\n1\n")],
    ]);
    expect(typeof origin.tickAt).toBe("number");
    expect(origin.reason).toBe(
      (await readLedger(home, "landed/new-csv")).ticks.find((t) => t.status === "requested")!.reason,
    );

    const schedule = JSON.parse((await cli(["show", scheduleRun, "--json"], home)).stdout).origin;
    expect(schedule).toMatchObject({ trigger: "ticking/every-2s", kind: "schedule", name: "every-2s" });
    // A slot of the 2-second schedule, and the reason names the cron and the slot.
    expect(schedule.tickAt % 2000).toBe(0);
    expect(schedule.reason).toContain(`schedule "every-2s" (*/2 * * * * *, UTC) tick`);
    const scheduleText = (await cli(["show", scheduleRun], home)).stdout;
    expect(scheduleText).toContain(`tick      schedule "every-2s" at ${new Date(schedule.tickAt).toISOString()}`);

    const runs = await cli(["runs"], home);
    expect(runs.stdout).toMatch(new RegExp(`${sensorRun}.*sensor:new-csv`));
    expect(runs.stdout).toMatch(new RegExp(`${scheduleRun}.*schedule:every-2s`));
  }, 150_000);

  it("words a monitor's event: the metric, its threshold and each window with its labelled rows", () => {
    const lines = describeTickEvent({
      kind: "monitor",
      signal: "metric",
      model: "delays",
      alias: "production",
      version: 3,
      metric: "auc",
      threshold: 0.65,
      direction: "below",
      windowMs: 3_600_000,
      windows: [
        {
          start: Date.UTC(2026, 0, 1, 0),
          end: Date.UTC(2026, 0, 1, 1),
          served: 500,
          labelled: 400,
          value: 0.61,
          counts: true,
        },
        {
          start: Date.UTC(2026, 0, 1, 1),
          end: Date.UTC(2026, 0, 1, 2),
          served: 450,
          labelled: 300,
          value: 0.6,
          counts: true,
        },
      ],
    });
    expect(lines).toEqual([
      "delays@production (version 3): auc below 0.65 in 2 windows of 60 min",
      "  2026-01-01T00:00:00.000Z .. 2026-01-01T01:00:00.000Z  auc 0.6100, 400 labelled of 500 served",
      "  2026-01-01T01:00:00.000Z .. 2026-01-01T02:00:00.000Z  auc 0.6000, 300 labelled of 450 served",
    ]);
  });
});
