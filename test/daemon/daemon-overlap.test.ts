/**
 * Overlap policies with real runs: a `trainyard daemon` child process, a trigger firing faster
 * than its runs finish (each works 4 s), and the run records the engine leaves. "skip" never
 * runs two at once and records the skipped ticks; "allow" runs them side by side; "cancel-running"
 * cancels the running one; "queue" runs every tick's run one at a time, in order, also across a
 * daemon killed with -9 (the queue is in the ledger), for a schedule and for a file sensor.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/store/metadata-store.js";
import { SqliteTickStore } from "../../src/store/sqlite-tick-store.js";
import { DAEMON_FIXTURES, FAST, readLedger, startDaemon, waitFor, type DaemonProcess, type Ledger } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-overlap-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const MODULE = path.join(DAEMON_FIXTURES, "overlapping.ts");
const SCHEDULE = "overlapping/every-2s";
const SENSOR = "overlapping/landed";
const TERMINAL = new Set(["succeeded", "failed", "rejected", "cancelled"]);

function start(home: string, env: Record<string, string>): DaemonProcess {
  return startDaemon(home, [MODULE, ...FAST], { SLOW_MS: "4000", ...env });
}

async function stop(d: DaemonProcess): Promise<void> {
  d.child.kill("SIGTERM");
  await d.exited;
}

/** The runs each requested tick asked for, in tick order. */
function runsInTickOrder(l: Ledger): RunRecord[] {
  const byId = new Map(l.runs.map((r) => [r.id, r]));
  return l.ticks
    .filter((t) => t.status === "requested")
    .sort((a, b) => a.scheduledAt - b.scheduledAt)
    .flatMap((t) => (t.runIds ?? []).map((id) => byId.get(id)))
    .filter((r): r is RunRecord => r !== undefined);
}

/** Pairs of runs whose [start, end] intervals overlap. */
function overlaps(runs: RunRecord[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const span = (r: RunRecord) => [r.startedAt ?? r.createdAt, r.finishedAt ?? Infinity] as const;
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      const [a0, a1] = span(runs[i]);
      const [b0, b1] = span(runs[j]);
      if (a0 < b1 && b0 < a1) out.push([runs[i].id, runs[j].id]);
    }
  }
  return out;
}

async function cancelledRows(home: string) {
  const store = SqliteTickStore.open(path.join(home, "metadata.db"));
  try {
    return await store.listQueuedRuns({ status: "cancelled" });
  } finally {
    await store.close();
  }
}

const finished = (runs: RunRecord[]) => runs.filter((r) => TERMINAL.has(r.status));

describe("overlap policies with real runs", () => {
  it('"skip" records ticks that fall due while a run is active as skipped, and never runs two at once', async () => {
    const home = path.join(root, "skip");
    const d = start(home, { OVERLAP: "skip" });
    try {
      await waitFor(
        "two finished runs and a skipped tick",
        async () => {
          const l = await readLedger(home, SCHEDULE);
          return finished(l.runs).length >= 2 && l.ticks.some((t) => t.status === "skipped");
        },
        90_000,
        d.log,
      );
    } finally {
      await stop(d);
    }
    const l = await readLedger(home, SCHEDULE);
    const skipped = l.ticks.filter((t) => t.status === "skipped");
    for (const t of skipped) {
      expect(t.reason).toMatch(/^skipped: overlap "skip": run \S+ \((running|queued)\) still active$/);
      expect(t.runIds).toEqual([]);
      // The run it names is one this trigger started.
      expect(l.runs.map((r) => r.id)).toContain(/run (\S+) /.exec(t.reason)![1]);
    }
    expect(overlaps(runsInTickOrder(l))).toEqual([]);
    expect(finished(l.runs).every((r) => r.status === "succeeded")).toBe(true);
  }, 150_000);

  it('"allow" launches a tick\'s run while the previous one still runs', async () => {
    const home = path.join(root, "allow");
    const d = start(home, { OVERLAP: "allow" });
    try {
      await waitFor(
        "two runs running at once, both finished",
        async () => {
          const l = await readLedger(home, SCHEDULE);
          return overlaps(finished(runsInTickOrder(l))).length > 0;
        },
        90_000,
        d.log,
      );
    } finally {
      await stop(d);
    }
    const l = await readLedger(home, SCHEDULE);
    expect(l.ticks.filter((t) => t.status === "skipped")).toEqual([]);
    expect(l.ticks.some((t) => /overlap "allow": launched alongside run/.test(t.reason))).toBe(true);
    expect(finished(l.runs).every((r) => r.status === "succeeded")).toBe(true);
  }, 150_000);

  it('"cancel-running" cancels the active run when the next tick falls due, and launches the new one', async () => {
    const home = path.join(root, "cancel");
    const d = start(home, { OVERLAP: "cancel-running" });
    try {
      await waitFor(
        "two cancelled runs",
        async () => (await readLedger(home, SCHEDULE)).runs.filter((r) => r.status === "cancelled").length >= 2,
        90_000,
        d.log,
      );
    } finally {
      await stop(d);
    }
    const l = await readLedger(home, SCHEDULE);
    const runs = runsInTickOrder(l);
    const cancelled = runs.filter((r) => r.status === "cancelled");
    for (const run of cancelled) {
      // The tick that cancelled it names it; that tick's own run started after it.
      const next = l.ticks.find(
        (t) => /overlap "cancel-running": cancels runs? /.test(t.reason) && t.reason.includes(`${run.id} (running)`),
      );
      expect(next, `no tick names cancelled run ${run.id}`).toBeDefined();
      expect(next!.evaluatedAt).toBeGreaterThan(run.createdAt);
    }
    // Each run works 4 s and ticks come every 2 s: none gets to finish its work, but the last one,
    // which no tick followed (the daemon drained).
    expect(runs.slice(0, -1).filter((r) => r.status === "succeeded")).toEqual([]);
  }, 150_000);

  it('"cancel-running" withdraws a run still waiting in the queue', async () => {
    const home = path.join(root, "cancel-queued");
    // No run of the pipeline may start: every tick's run waits in the queue, and the next tick replaces it.
    const d = startDaemon(home, [MODULE, ...FAST, "--pipeline-limit", "overlapping=0"], { OVERLAP: "cancel-running" });
    try {
      await waitFor(
        "two runs withdrawn from the queue",
        async () => (await cancelledRows(home)).length >= 2,
        60_000,
        d.log,
      );
    } finally {
      await stop(d);
    }
    const rows = await cancelledRows(home);
    for (const r of rows)
      expect(r.reason).toMatch(/^replaced by tick schedule:every-2s@\S+ \(overlap "cancel-running"\)$/);
    expect((await readLedger(home, SCHEDULE)).runs).toEqual([]);
  }, 120_000);

  it('"queue" (schedule) runs each tick\'s run one at a time in tick order, ' +
    "across a kill -9 of the daemon", async () => {
    const home = path.join(root, "queue-schedule");
    const first = start(home, { OVERLAP: "queue" });
    // Kill the daemon while one run works and at least two wait in the ledger's queue.
    await waitFor(
      "a running run and two queued behind it",
      async () => {
        const l = await readLedger(home, SCHEDULE);
        return l.runs.some((r) => r.status === "running") && l.queue.filter((q) => q.status === "queued").length >= 2;
      },
      90_000,
      first.log,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const waiting = (await readLedger(home, SCHEDULE)).queue.filter((q) => q.status === "queued").map((q) => q.runId);
    expect(waiting.length).toBeGreaterThanOrEqual(2);

    const second = start(home, { OVERLAP: "queue" });
    try {
      await waitFor(
        "the runs queued before the kill to finish",
        async () => {
          const l = await readLedger(home, SCHEDULE);
          return waiting.every((id) => l.runs.some((r) => r.id === id && TERMINAL.has(r.status)));
        },
        120_000,
        second.log,
      );
    } finally {
      await stop(second);
    }
    const l = await readLedger(home, SCHEDULE);
    // Slots missed while no daemon ran are skipped by the catch-up policy ("latest"), never for overlap.
    expect(l.ticks.filter((t) => t.status === "skipped" && !/catch-up-limit/.test(t.reason))).toEqual([]);
    expect(l.queue.every((q) => q.serial)).toBe(true);
    expect(l.ticks.some((t) => /overlap "queue": waits for run/.test(t.reason))).toBe(true);
    const runs = runsInTickOrder(l);
    expect(overlaps(runs), second.log()).toEqual([]);
    // One at a time, in the order the ticks fell due.
    const byStart = [...runs].sort((a, b) => (a.startedAt ?? a.createdAt) - (b.startedAt ?? b.createdAt));
    expect(byStart.map((r) => r.id)).toEqual(runs.map((r) => r.id));
    expect(finished(runs).every((r) => r.status === "succeeded")).toBe(true);
  }, 240_000);

  it('"queue" (file sensor) turns files landing during a run into runs that wait their turn', async () => {
    const home = path.join(root, "queue-sensor");
    const landing = path.join(root, "landing");
    fs.mkdirSync(landing, { recursive: true });
    const d = start(home, { OVERLAP: "queue", OVERLAP_TRIGGER: "sensor", LANDING_DIR: landing });
    try {
      await waitFor(
        "the sensor's first evaluation",
        async () => (await readLedger(home, SENSOR)).cursor !== undefined,
        60_000,
        d.log,
      );
      fs.writeFileSync(path.join(landing, "a.csv"), "x\n1\n");
      await waitFor(
        "the first run to start",
        async () => (await readLedger(home, SENSOR)).runs.some((r) => r.status === "running"),
        60_000,
        d.log,
      );
      fs.writeFileSync(path.join(landing, "b.csv"), "x\n2\n");
      await waitFor("b's tick", async () => (await readLedger(home, SENSOR)).ticks.length >= 2, 60_000, d.log);
      fs.writeFileSync(path.join(landing, "c.csv"), "x\n3\n");
      await waitFor(
        "three runs finished",
        async () => finished((await readLedger(home, SENSOR)).runs).length >= 3,
        90_000,
        d.log,
      );
    } finally {
      await stop(d);
    }
    const l = await readLedger(home, SENSOR);
    const requested = l.ticks.filter((t) => t.status === "requested");
    expect(requested).toHaveLength(3);
    expect(requested.filter((t) => /overlap "queue": waits for run/.test(t.reason)).length).toBeGreaterThanOrEqual(1);
    const runs = runsInTickOrder(l);
    expect(runs.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(overlaps(runs)).toEqual([]);
  }, 180_000);
});
