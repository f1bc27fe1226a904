/**
 * The daemon on a disk that fills up and frees again, for real: its home on a 16 MiB tmpfs, a
 * schedule every 2 s, then a file that takes all the space for six seconds. The daemon stays up,
 * says once what is wrong and what to do, and once more when it recovers; it catches up the slots
 * it missed, each tick with exactly one run. Before, its loop spun while the disk was full: tens of
 * thousands of "heartbeat failed" lines in seconds, a core busy, and a log that could fill a disk.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { requireTools } from "../support/require-tool.js";
import { mountSmallDisk, type SmallDisk } from "../support/small-disk.js";
import { exactlyOnceProblems, FAST, readLedger, settled, startDaemon, TICKING, waitFor } from "./support.js";

const TRIGGER = "ticking/every-2s";

/** User and system CPU time of a process so far, in seconds (from /proc). */
function cpuOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const gate = requireTools("tmpfs");
gate.describe("the daemon on a disk that fills up", () => {
  let disk: SmallDisk;
  beforeAll(() => {
    disk = mountSmallDisk(16);
  });
  afterAll(() => disk?.remove());

  gate.it(
    "stays up without spinning, says so once, recovers, and catches up each missed slot once",
    async () => {
      const home = path.join(disk.path, "home");
      const d = startDaemon(home, [TICKING, ...FAST]);
      try {
        await waitFor("two ticks run", async () => settled(await readLedger(home, TRIGGER), 2), 60_000, d.log);
        const before = (await readLedger(home, TRIGGER)).ticks.length;
        disk.fill();
        const logged = d.log().length;
        const cpu = cpuOf(d.child.pid!);
        await new Promise((r) => setTimeout(r, 6000));
        const whileFull = d.log().slice(logged);
        // A loop that spins keeps a core busy: six seconds of CPU in six. An idle one uses a little.
        expect(cpuOf(d.child.pid!) - cpu, whileFull.slice(0, 2000)).toBeLessThan(3);
        expect(d.child.exitCode).toBeNull();
        const failures = whileFull.split("\n").filter((l) => / failed: /.test(l));
        expect(failures.length, whileFull.slice(0, 2000)).toBeGreaterThanOrEqual(1);
        expect(failures.length, whileFull.slice(0, 2000)).toBeLessThanOrEqual(4);
        expect(whileFull).toMatch(/database or disk is full \(the metadata database cannot grow: the disk is full/);

        disk.free();
        await waitFor(
          "the missed slots run",
          async () => settled(await readLedger(home, TRIGGER), before + 5),
          90_000,
          d.log,
        );
        expect(d.log()).toMatch(/recovered after [\d.]+ s of failures/);
      } finally {
        d.child.kill("SIGTERM");
        await d.exited;
      }
      const ledger = await readLedger(home, TRIGGER);
      expect(exactlyOnceProblems(ledger, 2000), d.log().slice(-3000)).toEqual([]);
    },
    180_000,
  );
});
