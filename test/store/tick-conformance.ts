/**
 * The tick ledger conformance suite: every backend runs these tests through
 * `describeTickStore(name, factory)`, talking only to the `TickStore` interface. `factory(shared)`
 * opens a second store on the same database when `shared` is given (two daemons).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { QueuedRun, TickRecord, TickStore } from "../../src/store/tick-store.js";

export type TickStoreFactory = (sameDatabaseAs?: TickStore) => Promise<TickStore>;

export function tick(trigger: string, key: string, overrides: Partial<TickRecord> = {}): TickRecord {
  return {
    trigger,
    key,
    kind: "schedule",
    scheduledAt: Date.parse(key) || 1,
    evaluatedAt: 1_000,
    status: "requested",
    reason: `slot ${key}`,
    ...overrides,
  };
}

export function queued(runId: string, trigger: string, tickKey: string, overrides: Partial<QueuedRun> = {}): QueuedRun {
  return {
    runId,
    trigger,
    tickKey,
    pipeline: "p",
    modulePath: "/m/p.ts",
    params: { a: 1 },
    priority: 0,
    createdAt: 1_000,
    status: "queued",
    ...overrides,
  };
}

export function describeTickStore(name: string, factory: TickStoreFactory): void {
  describe(`TickStore conformance: ${name}`, () => {
    const open: TickStore[] = [];
    const make = async (shared?: TickStore) => {
      const s = await factory(shared);
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0).reverse()) await s.close();
    });

    it("records a tick with its runs and cursor once; a second record of the same key changes nothing", async () => {
      const s = await make();
      const t = tick("p/nightly", "2019-03-10T08:00:00.000Z", { event: { slot: 1 } });
      const first = await s.recordTick(t, { runs: [queued("r1", "p/nightly", t.key)], cursor: { last: t.key } });
      expect(first.created).toBe(true);
      const again = await s.recordTick(
        { ...t, reason: "other" },
        { runs: [queued("r2", "p/nightly", t.key)], cursor: { last: "x" } },
      );
      expect(again.created).toBe(false);
      expect(again.tick).toMatchObject({ reason: t.reason, runIds: ["r1"], event: { slot: 1 } });
      expect((await s.getTriggerState("p/nightly"))!.cursor).toEqual({ last: t.key });
      expect((await s.listQueuedRuns()).map((r) => r.runId)).toEqual(["r1"]);
      expect(await s.getQueuedRun("r2")).toBeUndefined();
    });

    it("lists ticks newest first, with skipped ticks and their reasons", async () => {
      const s = await make();
      await s.recordTick(tick("p/h", "a", { evaluatedAt: 1 }));
      await s.recordTick(tick("p/h", "b", { evaluatedAt: 2, status: "skipped", reason: "skipped: overlap" }));
      await s.recordTick(tick("p/other", "c", { evaluatedAt: 3 }));
      const list = await s.listTicks("p/h");
      expect(list.map((t) => [t.key, t.status, t.reason])).toEqual([
        ["b", "skipped", "skipped: overlap"],
        ["a", "requested", "slot a"],
      ]);
      expect((await s.listTicks("p/h", { before: 2 })).map((t) => t.key)).toEqual(["a"]);
    });

    it("keeps pause state, evaluation heartbeats, failures and backoff per trigger", async () => {
      const s = await make();
      await s.setPaused("p/x", true);
      expect((await s.getTriggerState("p/x"))!.paused).toBe(true);
      await s.noteEvaluation("p/x", {
        at: 10,
        error: { code: "MODULE_LOAD", name: "TrainyardError", message: "boom" },
        backoffUntil: 50,
      });
      await s.noteEvaluation("p/x", {
        at: 20,
        error: { code: "MODULE_LOAD", name: "TrainyardError", message: "boom" },
        backoffUntil: 90,
      });
      let st = (await s.getTriggerState("p/x"))!;
      expect(st).toMatchObject({
        paused: true,
        evaluatedAt: 20,
        failures: 2,
        backoffUntil: 90,
        lastError: { code: "MODULE_LOAD" },
      });
      await s.noteEvaluation("p/x", { at: 30, cursor: { n: 3 } });
      st = (await s.getTriggerState("p/x"))!;
      expect(st).toMatchObject({ failures: 0, evaluatedAt: 30, cursor: { n: 3 } });
      expect(st.backoffUntil).toBeUndefined();
      await s.setPaused("p/x", false);
      expect((await s.listTriggerStates()).map((t) => [t.trigger, t.paused])).toEqual([["p/x", false]]);
    });

    it("queues runs by priority then age, launches each once, and cancels only queued ones", async () => {
      const s = await make();
      await s.enqueueRuns([
        queued("old", "api", "k1", { createdAt: 1 }),
        queued("new", "api", "k2", { createdAt: 2 }),
        queued("urgent", "api", "k3", { createdAt: 3, priority: 5 }),
      ]);
      expect((await s.listQueuedRuns()).map((r) => r.runId)).toEqual(["urgent", "old", "new"]);
      expect(await s.markLaunched("urgent", "daemon-a", 10)).toBe(true);
      expect(await s.markLaunched("urgent", "daemon-b", 11)).toBe(false);
      // A launch by a daemon that died may be taken over by naming it.
      expect(await s.markLaunched("urgent", "daemon-b", 12, "daemon-a")).toBe(true);
      expect(await s.getQueuedRun("urgent")).toMatchObject({
        status: "launched",
        launchedBy: "daemon-b",
        launchedAt: 12,
      });
      expect(await s.cancelQueued("urgent", "too late")).toBe(false);
      expect(await s.cancelQueued("old", "superseded")).toBe(true);
      expect((await s.listQueuedRuns()).map((r) => r.runId)).toEqual(["new"]);
      expect((await s.listQueuedRuns({ status: "cancelled" }))[0]).toMatchObject({
        runId: "old",
        reason: "superseded",
      });
    });

    it("keeps a run's serial flag (overlap \"queue\") through a tick's record and a reopen", async () => {
      const s = await make();
      await s.recordTick(tick("p/s", "2026-01-01T00:00:00Z"), {
        runs: [queued("waits", "p/s", "2026-01-01T00:00:00Z", { serial: true })],
      });
      await s.enqueueRuns([queued("free", "api", "k")]);
      const again = await make(s);
      expect(await again.getQueuedRun("waits")).toMatchObject({ serial: true, status: "queued" });
      expect((await again.getQueuedRun("free"))?.serial).toBeUndefined();
    });

    it("gives the leader lease to one holder until it expires or is released", async () => {
      const a = await make();
      const b = await make(a);
      expect((await a.acquireLease("daemon", "A", 1_000, 0)).acquired).toBe(true);
      const lost = await b.acquireLease("daemon", "B", 1_000, 500);
      expect(lost).toMatchObject({ acquired: false, lease: { holder: "A", expiresAt: 1_000 } });
      expect((await a.acquireLease("daemon", "A", 1_000, 900)).lease).toMatchObject({
        holder: "A",
        acquiredAt: 0,
        expiresAt: 1_900,
      });
      expect((await b.acquireLease("daemon", "B", 1_000, 1_800)).acquired).toBe(false);
      const taken = await b.acquireLease("daemon", "B", 1_000, 1_900);
      expect(taken).toMatchObject({ acquired: true, lease: { holder: "B", acquiredAt: 1_900 } });
      await a.releaseLease("daemon", "A");
      expect((await a.getLease("daemon"))!.holder).toBe("B");
      await b.releaseLease("daemon", "B");
      expect(await a.getLease("daemon")).toBeUndefined();
    });

    it("records a tick exactly once when two stores on one database race for it", async () => {
      const a = await make();
      const b = await make(a);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).recordTick(tick("p/race", "slot"), { runs: [queued(`run-${i}`, "p/race", "slot")] }),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.tick.runIds![0];
      expect((await a.listQueuedRuns()).map((r) => r.runId)).toEqual([winner]);
      const launches = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).markLaunched(winner, `d${i}`, i)),
      );
      expect(launches.filter(Boolean)).toHaveLength(1);
    });

    it("answers an idempotency key with the first request's run", async () => {
      const s = await make();
      expect(await s.claimIdempotencyKey("k", "req-1", "run-1", 1)).toEqual({
        runId: "run-1",
        fresh: true,
        sameRequest: true,
      });
      expect(await s.claimIdempotencyKey("k", "req-1", "run-2", 2)).toEqual({
        runId: "run-1",
        fresh: false,
        sameRequest: true,
      });
      expect(await s.claimIdempotencyKey("k", "req-other", "run-3", 3)).toEqual({
        runId: "run-1",
        fresh: false,
        sameRequest: false,
      });
    });
  });
}
