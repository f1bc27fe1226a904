/**
 * Faults stay local: a trigger that throws, and a pipeline module that stops compiling, are
 * recorded as failed ticks with growing backoff, while the other triggers keep ticking.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import type { DaemonTrigger } from "../../src/daemon/daemon-trigger.js";
import { openTickStore } from "../../src/daemon/open-tick-store.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { waitFor } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-faults-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const MODULE = (name: string) => `import { pipeline } from "trainyard";
const p = pipeline("${name}");
p.step("work", { run: () => 1 });
// A function sensor asking for one run per 300 ms window.
p.sensor("landing", {
  interval: "100ms",
  evaluate: ({ now }) => ({ requests: [{ key: "k" + Math.floor(now.getTime() / 300) }] }),
});
export default p;
`;

/** A sensor firing one event per 300 ms window. */
function counter(id: string): DaemonTrigger {
  return {
    id: `good/${id}`,
    name: id,
    kind: "sensor",
    pipeline: "good",
    modulePath: "/nowhere/good.ts",
    evaluate: ({ now }) => ({
      ticks: [
        { key: `w${Math.floor(now / 300)}`, scheduledAt: now, status: "requested", reason: "window", runs: [{}] },
      ],
    }),
  };
}

describe("daemon faults", () => {
  it("records a throwing trigger and a broken module with backoff and keeps serving the others", async () => {
    const home = path.join(root, "home");
    const modulePath = path.join(root, "mod", "edited.ts");
    fs.mkdirSync(path.dirname(modulePath), { recursive: true });
    fs.writeFileSync(modulePath, MODULE("edited"));
    const ty = await Trainyard.open({ home });
    const store = await openTickStore(ty);
    const thrower: DaemonTrigger = {
      id: "bad/throws",
      name: "throws",
      kind: "sensor",
      pipeline: "bad",
      modulePath: "/nowhere/bad.ts",
      evaluate: () => {
        throw new Error("sensor exploded on purpose");
      },
    };
    const lines: string[] = [];
    // No launches: this test is about evaluation, and maxConcurrentRuns 0 keeps every run queued.
    const daemon = new Daemon(ty, store, {
      triggers: [thrower, counter("a")],
      modules: [modulePath],
      maxConcurrentRuns: 0,
      intervalMs: 100,
      reloadMs: 200,
      log: (l) => lines.push(l),
    });
    const running = daemon.run();
    try {
      await waitFor(
        "the module's sensor to tick",
        async () => (await store.listTicks("edited/landing")).length >= 2,
        30_000,
        () => lines.join("\n"),
      );
      fs.writeFileSync(modulePath, `${MODULE("edited")}\nthis is not TypeScript (\n`);
      await waitFor(
        "the broken module to be recorded",
        async () => (await store.getTriggerState("edited/landing"))?.lastError?.code === "MODULE_LOAD",
        30_000,
        () => lines.join("\n"),
      );
      await waitFor(
        "three failures of the throwing trigger",
        async () => ((await store.getTriggerState("bad/throws"))?.failures ?? 0) >= 3,
        30_000,
        () => lines.join("\n"),
      );
      const goodBefore = (await store.listTicks("good/a")).length;
      await waitFor(
        "the healthy trigger to keep ticking",
        async () => (await store.listTicks("good/a")).length >= goodBefore + 3,
        30_000,
      );
    } finally {
      daemon.stop();
      await running;
    }
    const failed = (await store.listTicks("bad/throws")).reverse();
    expect(failed.every((t) => t.status === "failed" && t.error?.code === "TRIGGER_FAILED")).toBe(true);
    // Backoff doubles: 1 s, 2 s, 4 s between attempts (the first two gaps at least).
    const gaps = failed.slice(1, 3).map((t, i) => t.evaluatedAt - failed[i].evaluatedAt);
    expect(gaps[0]).toBeGreaterThanOrEqual(1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(2000);
    expect(failed[0].reason).toMatch(
      /evaluation failed \(TRIGGER_FAILED\): trigger bad\/throws threw: sensor exploded on purpose; next try in 1 s/,
    );
    const broken = (await store.listTicks("edited/landing")).find((t) => t.status === "failed");
    expect(broken?.error?.code).toBe("MODULE_LOAD");
    expect((await store.getTriggerState("bad/throws"))!.backoffUntil).toBeGreaterThan(Date.now() - 60_000);
    // Every requested tick queued exactly one run, none launched (limit 0).
    const queued = await store.listQueuedRuns();
    const requested = [
      ...(await store.listTicks("good/a", { limit: 1000 })),
      ...(await store.listTicks("edited/landing", { limit: 1000 })),
    ].filter((t) => t.status === "requested");
    expect(queued.length).toBe(requested.length);

    // The module fixed: its trigger recovers and its failure streak is cleared.
    fs.writeFileSync(modulePath, MODULE("edited"));
    const again = new Daemon(ty, store, { modules: [modulePath], maxConcurrentRuns: 0, intervalMs: 100 });
    const run2 = again.run();
    try {
      await waitFor(
        "the fixed module to tick again",
        async () => (await store.getTriggerState("edited/landing"))?.failures === 0,
        30_000,
      );
    } finally {
      again.stop();
      await run2;
    }
    await store.close();
    await ty.close();
  }, 120_000);
});
