/**
 * `trainyard triggers list | preview` for SQL and function sensors and run-status triggers, and
 * `trainyard trigger`, as a user runs them: the built CLI in child processes, a real SQLite file,
 * real run records.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "../cli/support.js";
import { FIXTURES as ENGINE_FIXTURES, REPO } from "../engine/support.js";

const FIXTURES = path.join(REPO, "test", "daemon", "fixtures");
const PIPELINE = path.join(FIXTURES, "event-triggers-pipeline.ts");
const UPSTREAM = path.join(FIXTURES, "upstream-pipeline.ts");
let tmp: string;
let db: string;

function trainyard(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, TRAINYARD_HOME: path.join(tmp, "home"), NO_COLOR: "1", SENSOR_TEST_DB: db },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ty-sensor-cli-"));
  db = path.join(tmp, "warehouse.db");
  const d = new Database(db);
  d.exec("CREATE TABLE loads (month TEXT); INSERT INTO loads VALUES ('2001-01'), ('2001-02')");
  d.close();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("trainyard triggers, new kinds", () => {
  it("lists SQL and function sensors and run-status triggers in words", () => {
    const r = trainyard("triggers", "list", PIPELINE);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("report: 3 triggers");
    expect(r.stdout).toMatch(/warehouse\s+sensor\s+sql \(sqlite\) on .*warehouse\.db: runs on a new watermark,/);
    expect(r.stdout).toContain("runs on a new watermark, params month<-watermark, rows<-n");
    expect(r.stdout).toMatch(/months\s+sensor\s+function: runs for each new key its evaluate function returns/);
    expect(r.stdout).toMatch(/after-train\s+run-status\s+runs of "upstream" ending succeeded or rejected/);
    expect(r.stdout).toContain('runs of "upstream" ending succeeded or rejected, carrying month');
    expect(r.stdout).toContain("queries every 30s (timeout 30s)");
  });

  it("previews a SQL sensor's request from the real database, and a function sensor's", () => {
    const sql = JSON.parse(trainyard("triggers", "preview", PIPELINE, "warehouse", "--json").stdout);
    expect(sql.requests).toEqual([expect.objectContaining({ params: { month: "2001-02", rows: 2 }, kind: "sensor" })]);
    expect(sql.requests[0].reason).toContain('watermark changed to "2001-02" (first result)');
    const fn = trainyard("triggers", "preview", PIPELINE, "months");
    expect(fn.code).toBe(0);
    expect(fn.stdout).toContain('would request a run of report with params {"month":"2001-02"}  sensor:months:2001-02');
    expect(fn.stdout).toContain('sensor "months": month 2001-02 closed');
  });

  it("previews a run-status trigger from the runs recorded in the home", () => {
    const ok = trainyard("run", UPSTREAM, "--param", "month=2001-03", "--json");
    const rejected = trainyard("run", UPSTREAM, "--param", "outcome=reject", "--json");
    expect([ok.code, rejected.code]).toEqual([0, 3]);
    const [okId, rejectedId] = [ok, rejected].map((r) => JSON.parse(r.stdout).runId as string);
    const r = JSON.parse(trainyard("triggers", "preview", PIPELINE, "after-train", "--json").stdout);
    expect(r.requests.map((q: { key: string }) => q.key)).toEqual([
      `run-status:after-train:${okId}`,
      `run-status:after-train:${rejectedId}`,
    ]);
    expect(r.requests[0].params).toEqual({ month: "2001-03" });
    const future = new Date(Date.now() + 60_000).toISOString();
    const later = trainyard("triggers", "preview", PIPELINE, "after-train", "--since", future);
    expect(later.stdout).toContain("no run request");
    expect(later.stdout).toContain('no-new-runs: no run of "upstream" ended succeeded or rejected');
  });

  it("lists triggers declared in trainyard.config.ts next to the module's own", () => {
    const dir = fs.mkdtempSync(path.join(ENGINE_FIXTURES, "tmp-config-triggers-"));
    try {
      fs.copyFileSync(PIPELINE, path.join(dir, "pipeline.ts"));
      fs.writeFileSync(
        path.join(dir, "trainyard.config.ts"),
        `import { defineConfig, onRunStatus } from "trainyard";
const afterIngest = onRunStatus("after-ingest", { pipeline: "ingest", status: "failed" });
export default defineConfig({ triggers: { report: [afterIngest] } });
`,
      );
      const r = trainyard("triggers", "list", path.join(dir, "pipeline.ts"));
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("report: 4 triggers");
      expect(r.stdout).toMatch(/after-ingest\s+run-status\s+runs of "ingest" ending failed/);
      expect(r.stdout).toContain(`(declared in ${path.join(dir, "trainyard.config.ts")})`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("trainyard trigger", () => {
  it("validates a manual request as `trainyard run` does and queues it once per idempotency key", () => {
    const before = JSON.parse(trainyard("runs", "--json").stdout).length;
    const ask = ["trigger", PIPELINE, "--param", "rows=12", "--profile", "full"];
    const r = trainyard(...ask, "--idempotency-key", "retrain-1", "--json");
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out.request).toMatchObject({
      key: "manual:retrain-1",
      kind: "manual",
      pipeline: "report",
      params: { rows: 12 },
      resolvedParams: { month: "2001-01", rows: 12 },
      profile: "full",
      idempotencyKey: "retrain-1",
    });
    expect(out.request.reason).toMatch(/^requested by \S+ via trainyard trigger with rows=12, profile full$/);
    expect(out).toMatchObject({ recorded: true, created: true, sameRequest: true });
    // The same key again is the same request: the queue keeps its one run.
    const same = JSON.parse(trainyard(...ask, "--idempotency-key", "retrain-1", "--json").stdout);
    expect(same).toMatchObject({ recorded: true, created: false, sameRequest: true, runId: out.runId });
    const other = JSON.parse(trainyard("trigger", PIPELINE, "--idempotency-key", "retrain-1", "--json").stdout);
    expect(other).toMatchObject({ created: false, sameRequest: false, runId: out.runId });
    const again = JSON.parse(trainyard(...ask, "--json").stdout);
    expect(again.request.requestDigest).toBe(out.request.requestDigest);
    expect(again.runId).not.toBe(out.runId);
    // Queued for the daemon, not run: no run record yet.
    expect(JSON.parse(trainyard("runs", "--json").stdout)).toHaveLength(before);
  });

  it("refuses bad params and profiles with the same errors as `trainyard run`", () => {
    const errorLines = (s: string) =>
      s
        .split("\n")
        .filter((l) => /^(error| {2}hint)/.test(l))
        .join("\n");
    for (const args of [
      ["--param", "rows=many"],
      ["--param", "epochs=3"],
      ["--profile", "nightly"],
    ]) {
      const viaTrigger = trainyard("trigger", PIPELINE, ...args);
      const viaRun = trainyard("run", PIPELINE, ...args);
      expect(viaTrigger.code).toBe(1);
      expect(viaRun.code).toBe(1);
      expect(errorLines(viaTrigger.stderr)).not.toBe("");
      expect(errorLines(viaTrigger.stderr)).toBe(errorLines(viaRun.stderr));
    }
    const bad = trainyard("trigger", PIPELINE, "--idempotency-key", "has space");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('idempotency key "has space" is not valid');
  });
});
