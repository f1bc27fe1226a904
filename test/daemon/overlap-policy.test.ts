import { describe, expect, it } from "vitest";
import { decideOverlap, type ActiveRun } from "../../src/daemon/overlap-policy.js";

const active: ActiveRun[] = [
  { id: "run-a", status: "running", startedAt: 1 },
  { id: "run-b", status: "queued" },
];

describe("overlap decision", () => {
  it("launches under every policy when no run of the trigger is active", () => {
    for (const policy of ["skip", "queue", "allow", "cancel-running"] as const) {
      expect(decideOverlap(policy, []).action).toBe("launch");
    }
  });

  it("skips, queues, allows or cancels when runs are still active, naming them", () => {
    const skip = decideOverlap("skip", active);
    expect(skip).toMatchObject({ action: "skip", blockedBy: ["run-a", "run-b"] });
    expect(skip.reason).toContain("run-a (running)");
    expect(decideOverlap("queue", active)).toMatchObject({ action: "queue", behind: ["run-a", "run-b"] });
    expect(decideOverlap("allow", active).action).toBe("launch");
    const cancel = decideOverlap("cancel-running", active);
    expect(cancel).toMatchObject({ action: "cancel-running", cancel: ["run-a", "run-b"] });
  });
});
