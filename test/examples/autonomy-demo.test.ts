/**
 * The autonomy demo's loop on a small sample (3,000 flights a month, 4-second monitor windows),
 * run exactly as `npm run demo` runs it: `trainyard up` as a real child process (daemon + model
 * server), real landed Parquet files, real predict requests and late labels. Every transition is
 * asserted in order from the demo's event log, and what it says is checked against the ledger,
 * the runs and the registry the daemon wrote.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTickStore } from "../../src/daemon/open-tick-store.js";
import { runDetail } from "../../src/engine/run-detail.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import type { TickRecord } from "../../src/store/tick-store.js";
import { REPO } from "../engine/support.js";

const DEMO = path.join(REPO, "examples", "flight-delays", "autonomy", "demo.ts");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-autonomy-"));
const state = path.join(root, "state");
const eventsFile = path.join(root, "events.jsonl");

interface DemoEvent {
  kind: string;
  text: string;
  at: number;
  runId?: string;
  trigger?: string;
  status?: string;
  version?: number;
  auc?: number;
  tick?: TickRecord;
}

let exit: { code: number | null; out: string };
let events: DemoEvent[] = [];

beforeAll(async () => {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      DEMO,
      "--state",
      state,
      "--sample",
      "3000",
      "--window",
      "4",
      "--rows",
      "250",
      "--events",
      eventsFile,
      "--timeout",
      "80",
    ],
    { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  exit = { code, out };
  events = fs.existsSync(eventsFile)
    ? fs
        .readFileSync(eventsFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as DemoEvent)
    : [];
}, 150_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Index of the first event after `from` that matches, failing with the narration when there is none. */
function next(from: number, what: string, pred: (e: DemoEvent) => boolean): number {
  const i = events.findIndex((e, k) => k > from && pred(e));
  if (i < 0) throw new Error(`no "${what}" after event ${from}; the demo said:\n${exit.out}`);
  return i;
}

describe("the autonomy demo on a small sample", () => {
  it("runs the whole loop, ends by itself and drains trainyard up", () => {
    expect(exit.code, exit.out).toBe(0);
    expect(exit.out).toMatch(/the shift was handled/);
    expect(exit.out).toMatch(/trainyard up drained and exited \(0\)/);
  });

  it("goes through every transition in order", () => {
    let i = next(-1, "Jan+Feb landed", (e) => e.kind === "landed" && /January and February/.test(e.text));
    i = next(i, "landing detected", (e) => e.kind === "detected" && e.tick?.status === "requested");
    const firstTick = events[i].tick!;
    i = next(i, "run started by the sensor", (e) => e.kind === "run-started" && e.trigger === "sensor:landed");
    const firstRun = events[i].runId!;
    expect(firstTick.runIds).toEqual([firstRun]);
    i = next(i, "first run succeeded", (e) => e.kind === "run-finished" && e.runId === firstRun);
    expect(events[i].status).toBe("succeeded");
    const promoted = next(-1, "promoted", (e) => e.kind === "promoted" && e.runId === firstRun);
    expect(events[promoted].version).toBe(1);
    i = next(promoted, "server serves version 1", (e) => e.kind === "served" && e.version === 1);
    i = next(i, "March traffic", (e) => e.kind === "traffic" && /March/.test(e.text) && e.version === 1);
    i = next(i, "March labels", (e) => e.kind === "labels");
    expect(events[i].auc).toBeGreaterThan(0.5);
    i = next(i, "March landed", (e) => e.kind === "landed" && /March/.test(e.text));
    i = next(i, "March detected", (e) => e.kind === "detected" && e.tick?.status === "requested");
    i = next(i, "March run", (e) => e.kind === "run-started" && e.trigger === "sensor:landed");
    const marchRun = events[i].runId!;
    i = next(i, "March run finished", (e) => e.kind === "run-finished" && e.runId === marchRun);
    expect(["succeeded", "rejected"]).toContain(events[i].status);
    i = next(i, "label shift", (e) => e.kind === "shift");
    i = next(i, "shifted labels", (e) => e.kind === "labels");
    expect(events[i].auc).toBeLessThan(0.5);
    i = next(i, "monitor fired", (e) => e.kind === "monitor-fired");
    const fireTick = events[i].tick!;
    const byMonitor = (e: DemoEvent) => e.kind === "run-started" && e.trigger === "monitor:served-auc";
    i = next(i, "retrain started by the monitor", byMonitor);
    const retrain = events[i].runId!;
    expect(fireTick.runIds).toEqual([retrain]);
    i = next(i, "retrain finished", (e) => e.kind === "run-finished" && e.runId === retrain);
    expect(["succeeded", "rejected"]).toContain(events[i].status);
    next(i, "handled", (e) => e.kind === "handled");
    // Nothing fired before the shift: the monitor stayed quiet while the AUC was fine.
    const shift = next(-1, "label shift", (e) => e.kind === "shift");
    expect(events.slice(0, shift).filter((e) => e.kind === "monitor-fired")).toEqual([]);
  });

  it("recorded what started each run: the files and digests, and the metric with its windows", async () => {
    const ty = await Trainyard.open({ home: path.join(state, "home") });
    const ticks = await openTickStore(ty);
    try {
      const sensor = (await ticks.listTicks("flight-delays/landed", { limit: 100 }))
        .reverse()
        .filter((t) => t.status === "requested");
      expect(sensor).toHaveLength(2);
      const files = (sensor[0].event as { files: Array<{ name: string; digest: string }> }).files;
      expect(files.map((f) => f.name)).toEqual(["flights-2001-01.parquet", "flights-2001-02.parquet"]);
      for (const f of files) {
        const bytes = fs.readFileSync(path.join(state, "landing", f.name));
        expect(f.digest).toContain(createHash("sha256").update(bytes).digest("hex"));
      }
      expect(sensor[0].reason).toMatch(/sensor "landed": 2 new file\(s\)/);

      const fired = (await ticks.listTicks("flight-delays/served-auc", { limit: 100 })).filter(
        (t) => t.status === "requested",
      );
      expect(fired).toHaveLength(1);
      const reason = /^auc of flight-delays@production 0\.\d+ < 0\.5 for 2 windows of 4s \(\d+, \d+ labelled rows\)$/;
      expect(fired[0].reason).toMatch(reason);
      type Window = { value: number; labelled: number; end: number };
      const event = fired[0].event as { metric: string; windowMs: number; version: number; windows: Window[] };
      expect(event).toMatchObject({ kind: "monitor", signal: "metric", metric: "auc", threshold: 0.5, windowMs: 4000 });
      expect(event.windows).toHaveLength(2);
      for (const w of event.windows) {
        expect(w.value).toBeLessThan(0.5);
        expect(w.labelled).toBeGreaterThanOrEqual(200);
      }

      const retrain = await ty.metadata.listRuns({ trigger: "monitor", limit: 10 });
      expect(retrain).toHaveLength(1);
      expect(fired[0].runIds).toEqual([retrain[0].id]);
      const detail = await runDetail(ty, retrain[0]);
      expect(detail.gates.flatMap((g) => g.verdicts).length).toBeGreaterThan(0);
      const history = await ty.registry.aliasHistory("flight-delays");
      expect(history[history.length - 1]).toMatchObject({ alias: "production" });
    } finally {
      await ticks.close();
      await ty.close();
    }
  });
});
