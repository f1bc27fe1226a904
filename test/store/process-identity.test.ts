import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { identityAlive, processStartTicks, selfIdentity } from "../../src/store/process-identity.js";

describe("process identity", () => {
  it("tells a live process from a dead one, and a reused pid from its first owner", async () => {
    const me = selfIdentity();
    expect(me.startTicks).toBeGreaterThan(0);
    expect(identityAlive(me)).toBe(true);
    const child = spawn("sleep", ["30"]);
    const ticks = processStartTicks(child.pid!)!;
    expect(ticks).toBeGreaterThan(0);
    const id = { ...me, pid: child.pid!, startTicks: ticks };
    expect(identityAlive(id)).toBe(true);
    // Same pid, another start time: the process that owned it is gone.
    expect(identityAlive({ ...id, startTicks: ticks - 1 })).toBe(false);
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    expect(identityAlive(id)).toBe(false);
    expect(identityAlive({ ...me, bootId: "another-boot" })).toBe(false);
    expect(identityAlive({ ...me, host: "elsewhere" })).toBeUndefined();
  });
});
