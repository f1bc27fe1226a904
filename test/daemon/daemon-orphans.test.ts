/**
 * Runs orphaned by a daemon killed with -9: the next daemon leaves a live run alone, resumes one
 * whose process died, and relaunches (same id) one that was marked launched but never started.
 * Each ends with exactly one run record.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SqliteTickStore } from "../../src/store/sqlite-tick-store.js";
import type { QueuedRun } from "../../src/store/tick-store.js";
import { FAST, startDaemon, TICKING, waitFor } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-orphans-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function openHomeDb(home: string) {
  fs.mkdirSync(home, { recursive: true });
  const meta = new SqliteMetadataStore(path.join(home, "metadata.db"));
  return { meta, store: new SqliteTickStore(meta) };
}

function row(runId: string, params: Record<string, unknown>): QueuedRun {
  return {
    runId,
    trigger: "api",
    tickKey: runId,
    pipeline: "ticking",
    modulePath: TICKING,
    params,
    priority: 0,
    createdAt: Date.now(),
    status: "queued",
  };
}

async function runningPid(meta: SqliteMetadataStore, runId: string): Promise<number | undefined> {
  const r = await meta.getRun(runId);
  return r?.status === "running" && r.pid ? r.pid : undefined;
}

describe("orphaned runs after a daemon is killed with -9", () => {
  it("resumes a run whose process died with the daemon, and leaves a live one alone", async () => {
    const home = path.join(root, "resume");
    const { meta, store } = openHomeDb(home);
    await store.enqueueRuns([row("dies-with-daemon", { slow: 6000 }), row("outlives-daemon", { slow: 3000, n: 2 })]);
    const first = startDaemon(home, [...FAST]);
    const doomed = await waitFor(
      "both runs to start",
      async () => (await runningPid(meta, "outlives-daemon")) && runningPid(meta, "dies-with-daemon"),
      60_000,
      first.log,
    );
    first.child.kill("SIGKILL");
    process.kill(doomed, "SIGKILL");
    await first.exited;

    const second = startDaemon(home, [...FAST]);
    try {
      await waitFor(
        "both runs to succeed",
        async () =>
          (await meta.getRun("dies-with-daemon"))?.status === "succeeded" &&
          (await meta.getRun("outlives-daemon"))?.status === "succeeded",
        90_000,
        second.log,
      );
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
    expect(second.log()).toMatch(/resumed orphaned run dies-with-daemon/);
    expect(second.log()).not.toMatch(/(resumed|relaunched) orphaned run outlives-daemon/);
    const runs = await meta.listRuns();
    expect(runs.map((r) => r.id).sort()).toEqual(["dies-with-daemon", "outlives-daemon"]);
    await meta.close();
  }, 180_000);

  it("relaunches, under the same id, a run marked launched whose process never started", async () => {
    const home = path.join(root, "relaunch");
    const { meta, store } = openHomeDb(home);
    await store.enqueueRuns([row("never-started", { n: 3 })]);
    // A daemon (long dead: pid 999999) took it from the queue and died before spawning it.
    expect(await store.markLaunched("never-started", "daemon@elsewhere:999999:1:00000000", Date.now() - 10_000)).toBe(
      true,
    );
    const d = startDaemon(home, [...FAST]);
    try {
      await waitFor(
        "the relaunched run to succeed",
        async () => (await meta.getRun("never-started"))?.status === "succeeded",
        60_000,
        d.log,
      );
    } finally {
      d.child.kill("SIGTERM");
      await d.exited;
    }
    expect(d.log()).toMatch(/relaunched orphaned run never-started/);
    expect((await meta.listRuns()).map((r) => [r.id, r.trigger])).toEqual([["never-started", "api"]]);
    expect((await store.getQueuedRun("never-started"))?.launchedBy).toMatch(/^daemon@/);
    await meta.close();
  }, 120_000);
});
