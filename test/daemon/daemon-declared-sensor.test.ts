/**
 * The loop with a declared trigger, end to end: `trainyard daemon` on a pipeline whose
 * `p.sensor` watches a landing folder. Two files landing together start one run; the same bytes
 * landing again under another name start none (recorded with the reason); new bytes start another.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN } from "../cli/support.js";
import { DAEMON_FIXTURES, FAST, readLedger, startDaemon, waitFor } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-declared-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const MODULE = path.join(DAEMON_FIXTURES, "landing.ts");
const TRIGGER = "landed/new-csv";

describe("a declared file sensor in the daemon", () => {
  it("turns landed files into runs, one per batch, none for bytes already seen", async () => {
    const home = path.join(root, "home");
    const landing = path.join(root, "landing");
    fs.mkdirSync(landing);
    const d = startDaemon(home, [MODULE, ...FAST], { LANDING_DIR: landing });
    const succeeded = async (n: number) => {
      const l = await readLedger(home, TRIGGER);
      return l.runs.filter((r) => r.status === "succeeded").length >= n && l;
    };
    try {
      await waitFor("the daemon to lead", () => /leading/.test(d.log()), 30_000, d.log);
      fs.writeFileSync(path.join(landing, "jan.csv"), "a\n1\n");
      fs.writeFileSync(path.join(landing, "feb.csv"), "a\n2\n");
      const first = await waitFor("one run for the first batch", () => succeeded(1), 60_000, d.log);
      const requested = first.ticks.filter((t) => t.status === "requested");
      expect(requested).toHaveLength(1);
      expect(requested[0].reason).toMatch(/jan\.csv|feb\.csv|2 files/);
      expect(first.runs[0].trigger).toBe("sensor:new-csv");

      // The same bytes under a new name: no run. New bytes: a second run.
      fs.copyFileSync(path.join(landing, "jan.csv"), path.join(landing, "jan-copy.csv"));
      await new Promise((r) => setTimeout(r, 1500));
      fs.writeFileSync(path.join(landing, "mar.csv"), "a\n3\n");
      const second = await waitFor("a run for the new bytes", () => succeeded(2), 60_000, d.log);
      expect(second.ticks.filter((t) => t.status === "requested")).toHaveLength(2);
      expect(second.runs).toHaveLength(2);

      // A manual request (`trainyard trigger`) is queued, and the daemon launches it once.
      for (let i = 0; i < 2; i++) {
        const r = spawnSync(process.execPath, [BIN, "trigger", MODULE, "--idempotency-key", "by-hand", "--json"], {
          env: { ...process.env, TRAINYARD_HOME: home, LANDING_DIR: landing },
          encoding: "utf8",
        });
        expect(r.status, r.stderr).toBe(0);
      }
      const third = await waitFor("the manual run", () => succeeded(3), 60_000, d.log);
      expect(third.runs).toHaveLength(3);
    } finally {
      d.child.kill("SIGTERM");
      await d.exited;
    }
  }, 150_000);
});
