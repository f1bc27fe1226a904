/** `trainyard triggers list | preview` as a user runs them: the built CLI in a child process, real files. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../engine/support.js";
import { BIN } from "../cli/support.js";
import { spawnSync } from "node:child_process";

const FIXTURES = path.join(REPO, "test", "daemon", "fixtures");
const PIPELINE = path.join(FIXTURES, "triggered-pipeline.ts");
let tmp: string;
let landing: string;

function trainyard(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, TRAINYARD_HOME: path.join(tmp, "home"), NO_COLOR: "1", TRIGGERS_TEST_LANDING: landing },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ty-triggers-cli-"));
  landing = path.join(tmp, "landing");
  fs.mkdirSync(landing);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("trainyard triggers", () => {
  it("lists each trigger with its kind and the next tick in its time zone", () => {
    const r = trainyard("triggers", "list", PIPELINE, "--now", "2019-03-09T12:00:00Z");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("triggered: 3 triggers");
    expect(r.stdout).toMatch(/nightly\s+schedule\s+cron "30 2 \* \* \*" in America\/Chicago, catch-up all, at most 2/);
    // 02:30 does not exist on 2019-03-10 in Chicago: the tick runs right after the gap.
    expect(r.stdout).toContain("next tick 2019-03-10 03:00 CDT (2019-03-10T08:00:00.000Z)");
    expect(r.stdout).toMatch(/landing\s+sensor\s+files "\*\.csv" in .*landing, settle 1s, debounce 5s/);
    expect(r.stdout).toMatch(/auc-drop\s+monitor\s+delays@production: auc below 0.7 for 2 windows of 1h/);
    const json = JSON.parse(trainyard("triggers", "list", PIPELINE, "--now", "2019-03-09T12:00:00Z", "--json").stdout);
    expect(json.triggers.map((t: { name: string; kind: string }) => [t.name, t.kind])).toEqual([
      ["nightly", "schedule"],
      ["landing", "sensor"],
      ["auc-drop", "monitor"],
    ]);
    expect(json.triggers[0].nextTick).toBe(Date.parse("2019-03-10T08:00:00Z"));
  });

  it("previews a schedule's catch-up over a downtime, launching nothing", () => {
    const window = ["--since", "2019-03-06T00:00:00Z", "--now", "2019-03-10T12:00:00Z"];
    const r = trainyard("triggers", "preview", PIPELINE, "nightly", ...window);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('each tick requests a run of triggered with params {"lr":0.2}');
    expect(r.stdout).toMatch(/run\s+2019-03-09 02:30 CST/);
    expect(r.stdout).toMatch(/run\s+2019-03-10 03:00 CDT/);
    expect(r.stdout).toMatch(/skip 2019-03-08 02:30 CST\s+catch-up-limit/);
    expect(r.stdout).toContain("2019-03-11 02:30 CDT");
    const runs = spawnSync(process.execPath, [BIN, "runs", "--json"], {
      cwd: REPO,
      encoding: "utf8",
      env: { ...process.env, TRAINYARD_HOME: path.join(tmp, "home") },
    });
    expect(JSON.parse(runs.stdout)).toEqual([]);
  });

  it("previews a sensor: the run request the landed files would make", () => {
    fs.writeFileSync(path.join(landing, "2001-01.csv"), "month,delay\n2001-01,3\n");
    fs.writeFileSync(path.join(landing, "2001-02.csv"), "month,delay\n2001-02,5\n");
    fs.writeFileSync(path.join(landing, "notes.txt"), "not data");
    const later = new Date(Date.now() + 60_000).toISOString();
    const r = trainyard("triggers", "preview", PIPELINE, "landing", "--now", later, "--json");
    expect(r.stderr).toBe("");
    const preview = JSON.parse(r.stdout);
    expect(preview.requests).toHaveLength(1);
    expect(preview.requests[0].files.map((f: { name: string }) => f.name)).toEqual(["2001-01.csv", "2001-02.csv"]);
    expect(preview.requests[0].reason).toContain("2 new file(s)");
    fs.rmSync(landing, { recursive: true });
    const gone = trainyard("triggers", "preview", PIPELINE, "landing");
    expect(gone.code).toBe(0);
    expect(gone.stdout).toContain("no run request");
    expect(gone.stdout).toContain("does not exist");
    fs.mkdirSync(landing);
  });

  it("fails to load a pipeline with an invalid cron, naming the trigger and the field", () => {
    const r = trainyard("triggers", "list", path.join(FIXTURES, "bad-cron-pipeline.ts"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[TRIGGER_INVALID]: trigger "hourly-report": cron "61 * * * *" is not valid');
    expect(r.stderr).toContain("bad-cron-pipeline.ts");
    expect(r.stderr).toContain("hint: fields are minute (0-59)");
  });

  it("names the known triggers when the one asked for does not exist", () => {
    const r = trainyard("triggers", "preview", PIPELINE, "weekly");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pipeline "triggered" has no trigger "weekly"');
    expect(r.stderr).toContain("nightly, landing, auc-drop");
  });
});
