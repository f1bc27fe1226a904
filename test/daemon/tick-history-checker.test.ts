/** The daemon history checker finds what it is meant to find: lost and doubled slots, runs and files. */
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/store/metadata-store.js";
import type { TickRecord } from "../../src/store/tick-store.js";
import { checkDaemonHistory, type DaemonHistory } from "./tick-history-checker.js";

const SCHEDULE = { trigger: "p/fast", stepMs: 3000, maxCatchUp: 2 };

function tick(trigger: string, at: number, runId?: string, extra: Partial<TickRecord> = {}): TickRecord {
  return {
    trigger,
    key: `${trigger}@${at}`,
    kind: trigger === "p/fast" ? "schedule" : "sensor",
    scheduledAt: at,
    evaluatedAt: at + 10,
    status: runId ? "requested" : "skipped",
    reason: runId ? "on time" : "skipped (catch-up-limit): later ticks ran",
    runIds: runId ? [runId] : [],
    ...extra,
  };
}

const run = (id: string, status = "succeeded") => ({ id, status, trigger: "schedule:fast" }) as unknown as RunRecord;

function history(): DaemonHistory {
  const files = {
    files: [
      { name: "a.csv", size: 1, digest: "d-a" },
      { name: "b.csv", size: 1, digest: "d-b" },
    ],
  };
  return {
    ticks: [
      tick("p/fast", 3000, "r1"),
      tick("p/fast", 6000, "r2"),
      tick("p/fast", 9000, "r3"),
      tick("p/landed", 7000, "r4", { event: files }),
    ],
    queue: [],
    runs: [run("r1"), run("r2"), run("r3"), run("r4")],
  };
}

const check = (h: DaemonHistory, landed = ["d-a", "d-b"]) =>
  checkDaemonHistory(h, SCHEDULE, { trigger: "p/landed", landedDigests: landed }).problems;

describe("daemon history checker", () => {
  it("passes a consistent history", () => {
    expect(check(history())).toEqual([]);
  });

  it("finds a lost slot, a doubled slot, a doubled or unfinished run and a run no tick asked for", () => {
    const lost = history();
    lost.ticks.splice(1, 1);
    lost.runs.splice(1, 1);
    expect(check(lost)).toEqual([expect.stringMatching(/slot .*:06\.000Z of p\/fast has no tick \(lost\)/)]);
    const doubled = history();
    doubled.ticks.push({ ...tick("p/fast", 6000, "r5"), key: "other-key" });
    doubled.runs.push(run("r5"));
    expect(check(doubled)).toEqual([expect.stringMatching(/has 2 ticks \(doubled\)/)]);
    const twice = history();
    twice.runs.push(run("r2"));
    expect(check(twice)).toEqual([expect.stringMatching(/run r2 exists 2 times/)]);
    const failed = history();
    failed.runs[0] = run("r1", "interrupted");
    expect(check(failed)).toEqual([expect.stringMatching(/run r1 ended interrupted/)]);
    const stray = history();
    stray.runs.push(run("r9"));
    expect(check(stray)).toEqual([expect.stringMatching(/run r9 .* was asked for by no tick/)]);
  });

  it("accepts a catch-up skip only when maxCatchUp later slots ran in the same evaluation", () => {
    const h = history();
    h.ticks[0] = tick("p/fast", 3000, undefined, { evaluatedAt: 9010 });
    h.runs.splice(0, 1);
    // Only the 09 s slot (evaluated at 9010 by default) ran from that evaluation: one, not two.
    expect(check(h)).toEqual([expect.stringMatching(/skipped by the catch-up limit, but only 1 later slots ran/)]);
    h.ticks[1].evaluatedAt = 9010;
    expect(check(h)).toEqual([]);
  });

  it("finds a landed file that started no run, or two", () => {
    expect(check(history(), ["d-a", "d-b", "d-c"])).toEqual([expect.stringMatching(/landed file d-c started 0 runs/)]);
    const h = history();
    h.ticks.push(tick("p/landed", 8000, "r6", { event: { files: [{ name: "a2.csv", size: 1, digest: "d-a" }] } }));
    h.runs.push(run("r6"));
    expect(check(h)).toEqual([expect.stringMatching(/landed file d-a started 2 runs/)]);
  });
});
