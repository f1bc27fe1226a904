/**
 * `trainyard status` and `trainyard triggers`: a live daemon reads as ok with each trigger's last
 * tick and lag; pause records skipped slots; SIGTERM drains (the running run finishes, the lease
 * is released); a daemon killed with -9 reads as an error, never as "nothing due".
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SqliteTickStore } from "../../src/store/sqlite-tick-store.js";
import { cli } from "../cli/support.js";
import { FAST, readLedger, settled, startDaemon, TICKING, waitFor } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-status-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const TRIGGER = "ticking/every-2s";

describe("trainyard status and triggers", () => {
  it("shows a live daemon, pauses and unpauses a trigger, and reports a killed daemon as an error", async () => {
    const home = path.join(root, "live");
    const d = startDaemon(home, [TICKING, ...FAST]);
    try {
      await waitFor("a tick run", async () => settled(await readLedger(home, TRIGGER), 1), 60_000, d.log);
      const ok = await cli(["status", "--json"], home);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      const health = JSON.parse(ok.stdout);
      expect(health).toMatchObject({ state: "ok", problems: [], leader: { alive: true } });
      expect(health.leader.heartbeatAgeMs).toBeLessThan(10_000);
      expect(health.triggers).toEqual([
        expect.objectContaining({
          trigger: TRIGGER,
          paused: false,
          failures: 0,
          lastTick: expect.objectContaining({ status: "requested" }),
        }),
      ]);
      expect(typeof health.triggers[0].lagMs).toBe("number");

      const paused = await cli(["triggers", "pause", "every-2s"], home);
      expect(paused.stdout).toMatch(/paused ticking\/every-2s/);
      await waitFor(
        "a slot skipped while paused",
        async () => (await readLedger(home, TRIGGER)).ticks.some((t) => /^skipped: paused/.test(t.reason)),
        30_000,
        d.log,
      );
      await cli(["triggers", "unpause", TRIGGER], home);
      const resumedFrom = Date.now();
      await waitFor(
        "a requested tick after unpausing",
        async () =>
          (await readLedger(home, TRIGGER)).ticks.some((t) => t.status === "requested" && t.evaluatedAt > resumedFrom),
        30_000,
        d.log,
      );
      const history = await cli(["triggers", "history", TRIGGER], home);
      expect(history.code).toBe(0);
      expect(history.stdout).toMatch(/skipped\s+-\s+skipped: paused \(schedule "every-2s"/);
      expect(history.stdout).toMatch(/requested\s+\S+\s+schedule "every-2s" \(\*\/2 \* \* \* \* \*, UTC\) tick/);
    } finally {
      d.child.kill("SIGKILL");
      await d.exited;
    }
    const stale = await cli(["status"], home);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/STALE/);
    expect(stale.stdout).toMatch(
      /problem: the daemon \(pid \d+ on host .*\) last heartbeat .* ago and its process is gone/,
    );
    expect(stale.stdout).toContain("its process is gone: no trigger is being evaluated");
  }, 120_000);

  it("drains on SIGTERM: the running run finishes, the lease is released, status says no daemon runs", async () => {
    const home = path.join(root, "drain");
    fs.mkdirSync(home, { recursive: true });
    const meta = new SqliteMetadataStore(path.join(home, "metadata.db"));
    const store = new SqliteTickStore(meta);
    await store.enqueueRuns([
      {
        runId: "slow-one",
        trigger: "api",
        tickKey: "k",
        pipeline: "ticking",
        modulePath: TICKING,
        params: { slow: 3000 },
        priority: 0,
        createdAt: Date.now(),
        status: "queued",
      },
    ]);
    // A trigger with state: from then on, no running daemon is a problem status must report.
    await store.setPaused("ticking/idle", false);
    const d = startDaemon(home, [...FAST]);
    await waitFor("the run to start", async () => (await meta.getRun("slow-one"))?.status === "running", 60_000, d.log);
    d.child.kill("SIGTERM");
    const exit = await d.exited;
    expect(exit.code, d.log()).toBe(0);
    // Exiting after the drain means the run had finished by then.
    expect((await meta.getRun("slow-one"))?.status).toBe("succeeded");
    expect(d.log()).toMatch(/draining/);
    expect(await store.getLease("daemon")).toBeUndefined();
    const stopped = await cli(["status"], home);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(/daemon\s+not running/);
    expect(stopped.stdout).toMatch(/no daemon is running/);
    await meta.close();
  }, 120_000);
});
