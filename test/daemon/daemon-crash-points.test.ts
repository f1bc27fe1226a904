/**
 * Crash points: the daemon (a real child process) kills itself with SIGKILL at each named point
 * of recording and launching; after a restart every tick has exactly one run, none is lost.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exactlyOnceProblems, FAST, readLedger, settled, startDaemon, TICKING, waitFor } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-crash-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const TRIGGER = "ticking/every-2s";

// cursor-stored's first pass is the schedule's anchor (no tick yet): its second has a tick.
const POINTS = ["tick-created", "runs-created", "run-launched", "cursor-stored:2", "tick-done"];

describe("daemon crash points", () => {
  for (const point of POINTS) {
    it(`after a SIGKILL at ${point}, a restarted daemon leaves every tick with exactly one run`, async () => {
      const home = path.join(root, point.replace(":", "-"));
      const first = startDaemon(home, [TICKING, ...FAST], { TRAINYARD_CRASH_AT: point });
      const died = await Promise.race([
        first.exited,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 40_000)),
      ]);
      if (!died) first.child.kill("SIGKILL");
      expect(died, `the daemon did not reach ${point}:\n${first.log()}`).toMatchObject({ signal: "SIGKILL" });
      const before = await readLedger(home, TRIGGER);

      const second = startDaemon(home, [TICKING, ...FAST]);
      try {
        await waitFor(
          "three more ticks, all run",
          async () => settled(await readLedger(home, TRIGGER), before.ticks.length + 3),
          90_000,
          second.log,
        );
      } finally {
        second.child.kill("SIGTERM");
        await second.exited;
      }
      const ledger = await readLedger(home, TRIGGER);
      expect(exactlyOnceProblems(ledger, 2000), second.log()).toEqual([]);
      // No slot after the first daemon's starting point is lost, the one it died on included.
      const firstSlot = Math.min(...ledger.ticks.map((t) => t.scheduledAt));
      const cursor = before.cursor as { evaluatedUntil?: number } | undefined;
      const anchor = before.ticks.length ? before.ticks[0].scheduledAt - 1 : cursor?.evaluatedUntil;
      expect(typeof anchor, "the first daemon stored its starting point").toBe("number");
      expect(new Date(firstSlot).toISOString()).toBe(new Date(Math.floor(anchor! / 2000) * 2000 + 2000).toISOString());
    }, 150_000);
  }
});
