/** Failures that repeat: said once with the hint, then once a minute with how often, then on recovery. */
import { describe, expect, it } from "vitest";
import { TrainyardError } from "../../src/core/errors.js";
import { RepeatedFailures } from "../../src/core/repeated-failures.js";

describe("repeated failures", () => {
  it("says the first failure with its hint, then one line a minute, then the recovery", () => {
    const lines: string[] = [];
    const failures = new RepeatedFailures((l) => lines.push(l), 60_000);
    const full = Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    const t0 = Date.UTC(2026, 0, 1);
    for (let t = 0; t < 150_000; t += 250) failures.failed("heartbeat", full, t0 + t);
    failures.failed("launch runs", new TrainyardError("QUEUE_FULL", "queue full"), t0 + 1000);
    failures.succeeded("heartbeat", t0 + 150_000);
    failures.succeeded("heartbeat", t0 + 150_250);
    expect(lines).toEqual([
      expect.stringMatching(
        /^heartbeat failed: database or disk is full \(the metadata database cannot grow: the disk/,
      ),
      "heartbeat still failing (240 more times since 2026-01-01T00:00:00.000Z): database or disk is full",
      "heartbeat still failing (240 more times since 2026-01-01T00:00:00.000Z): database or disk is full",
      expect.stringMatching(/^launch runs failed: queue full \(raise the queue store's memory limit/),
      "heartbeat recovered after 3 min of failures",
    ]);
  });
});
