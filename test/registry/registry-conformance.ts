/**
 * The registry conformance suite: every backend runs these same tests through
 * `describeRegistryStore(name, factory)`, talking only to the `RegistryStore` interface.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GateVerdict, RegisterVersionInput, RegistryStore } from "../../src/store/registry-store.js";

export type RegistryStoreFactory = () => RegistryStore | Promise<RegistryStore>;

/** A 64-hex digest derived from a label (deterministic, not a real hash). */
export function digestOf(label: string): string {
  let h = 0x811c9dc5;
  let out = "";
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${label}/${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, 64);
}

const PASS: GateVerdict[] = [{ gate: "auc_vs_production", status: "pass", message: "0.78 >= 0.74" }];
const FAIL: GateVerdict[] = [
  { gate: "auc_vs_production", status: "pass" },
  { gate: "latency_p99", status: "fail", message: "7.1 ms > 5 ms" },
];

export function versionInput(
  model: string,
  label: string,
  overrides: Partial<RegisterVersionInput> = {},
): RegisterVersionInput {
  return {
    model,
    artifactDigest: digestOf(`${model}:${label}`),
    runId: `run-${label}`,
    stepRunId: `run-${label}:train`,
    dataDigests: [digestOf(`data-${label}`)],
    referenceProfileDigest: digestOf(`profile-${label}`),
    params: { lr: 0.1, label },
    codeFingerprint: `code-${label}`,
    metrics: { auc: 0.78 },
    gates: PASS,
    ...overrides,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return "resolved";
}

export function describeRegistryStore(name: string, factory: RegistryStoreFactory): void {
  describe(`RegistryStore conformance: ${name}`, () => {
    let s: RegistryStore;
    beforeEach(async () => {
      s = await factory();
    });
    afterEach(async () => {
      await s.close();
    });

    it("numbers versions 1, 2, 3 per model and keeps every recorded field", async () => {
      const a1 = await s.registerVersion(versionInput("flights", "a"));
      const a2 = await s.registerVersion(versionInput("flights", "b"));
      const other = await s.registerVersion(versionInput("churn", "a"));
      const a3 = await s.registerVersion(versionInput("flights", "c", { gates: FAIL, description: "third" }));
      expect([a1, a2, a3].map((r) => r.version.version)).toEqual([1, 2, 3]);
      expect(other.version.version).toBe(1);
      const v3 = await s.getVersion("flights", 3);
      expect(v3).toMatchObject({
        model: "flights",
        version: 3,
        artifactDigest: digestOf("flights:c"),
        runId: "run-c",
        stepRunId: "run-c:train",
        dataDigests: [digestOf("data-c")],
        referenceProfileDigest: digestOf("profile-c"),
        params: { lr: 0.1, label: "c" },
        codeFingerprint: "code-c",
        metrics: { auc: 0.78 },
        gates: FAIL,
        description: "third",
      });
      expect(v3!.createdAt).toBeGreaterThan(0);
      expect((await s.listVersions("flights")).map((v) => v.version)).toEqual([3, 2, 1]);
    });

    it("returns the existing version when the same artifact is registered again", async () => {
      const first = await s.registerVersion(versionInput("flights", "a"));
      const again = await s.registerVersion(versionInput("flights", "a", { metrics: { auc: 0.1 } }));
      expect(first.created).toBe(true);
      expect(again.created).toBe(false);
      expect(again.version.version).toBe(1);
      expect(again.version.metrics).toEqual({ auc: 0.78 });
      expect(await s.listVersions("flights")).toHaveLength(1);
    });

    it(
      "records when and by which run a version's metrics were measured, " + "and keeps them on re-registration",
      async () => {
        const before = Date.now();
        const first = await s.registerVersion(versionInput("flights", "a"));
        expect(first.version.metricsRunId).toBe("run-a");
        expect(first.version.metricsMeasuredAt).toBeGreaterThanOrEqual(before);
        expect(first.version.metricsMeasuredAt).toBeLessThanOrEqual(Date.now());
        const again = await s.registerVersion(
          versionInput("flights", "a", { runId: "run-later", metrics: { auc: 0.1 }, metricsMeasuredAt: before + 1e9 }),
        );
        const stored = await s.getVersion("flights", again.version.version);
        expect(stored).toMatchObject({
          metrics: { auc: 0.78 },
          metricsRunId: "run-a",
          metricsMeasuredAt: first.version.metricsMeasuredAt,
        });
        const given = await s.registerVersion(
          versionInput("flights", "b", { metricsMeasuredAt: 1234, metricsRunId: "run-eval" }),
        );
        expect(given.version).toMatchObject({ metricsMeasuredAt: 1234, metricsRunId: "run-eval" });
        const none = await s.registerVersion(versionInput("flights", "c", { metrics: undefined }));
        expect(none.version.metricsMeasuredAt).toBeUndefined();
        expect(none.version.metricsRunId).toBeUndefined();
      },
    );

    it("hands out distinct versions to concurrent registrations", async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.registerVersion(versionInput("flights", `c${i}`))),
      );
      expect(results.map((r) => r.version.version).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it("lists models with their latest version, count and aliases", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      await s.registerVersion(versionInput("flights", "b"));
      await s.registerVersion(versionInput("churn", "a"));
      await s.setAlias("flights", "production", 1);
      await s.setAlias("flights", "staging", 2);
      const models = await s.listModels();
      expect(models.map((m) => m.name)).toEqual(["churn", "flights"]);
      expect(models[1]).toMatchObject({ latestVersion: 2, versionCount: 2, aliases: { production: 1, staging: 2 } });
      expect(await s.getModel("nope")).toBeUndefined();
      expect((await s.getModel("churn"))?.aliases).toEqual({});
    });

    it("resolves versions by number, numeric string and alias", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      await s.registerVersion(versionInput("flights", "b"));
      await s.setAlias("flights", "production", 2, { actor: "user:ana", reason: "better auc" });
      expect((await s.getVersion("flights", "production"))?.version).toBe(2);
      expect((await s.getVersion("flights", "1"))?.version).toBe(1);
      expect(await s.getVersion("flights", 9)).toBeUndefined();
      expect(await s.getVersion("flights", "staging")).toBeUndefined();
      expect(await s.getVersion("nope", 1)).toBeUndefined();
      expect(await s.getAlias("flights", "production")).toMatchObject({ version: 2, actor: "user:ana" });
    });

    it("records every alias move with actor, reason and the version it left", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      await s.registerVersion(versionInput("flights", "b"));
      const first = await s.setAlias("flights", "production", 1, { actor: "run:r1" });
      const second = await s.setAlias("flights", "production", 2, { actor: "user:ana", reason: "retrained" });
      const same = await s.setAlias("flights", "production", 2);
      expect(first.event?.fromVersion).toBeUndefined();
      expect(second.event).toMatchObject({
        action: "set",
        fromVersion: 1,
        toVersion: 2,
        actor: "user:ana",
        reason: "retrained",
        forced: false,
      });
      expect(same.event).toBeUndefined();
      const history = await s.aliasHistory("flights", "production");
      expect(history.map((e) => [e.fromVersion ?? null, e.toVersion])).toEqual([
        [null, 1],
        [1, 2],
      ]);
      expect(history[1].id).toBeGreaterThan(history[0].id);
    });

    it("refuses to point an alias at an unknown model or version, naming it", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      await expect(s.setAlias("flights", "production", 7)).rejects.toMatchObject({
        code: "NOT_FOUND",
        message: expect.stringContaining("no version 7"),
      });
      await expect(s.setAlias("ghost", "production", 1)).rejects.toMatchObject({
        code: "NOT_FOUND",
        message: expect.stringContaining('"ghost"'),
      });
      await expect(s.setAlias("flights", "42", 1)).rejects.toMatchObject({ code: "REGISTRY_INVALID_NAME" });
      await expect(s.registerVersion(versionInput("bad name", "a"))).rejects.toMatchObject({
        code: "REGISTRY_INVALID_NAME",
      });
      expect(await s.aliasHistory("flights")).toEqual([]);
    });

    it("refuses a version with a failed gate unless forced, and records the override", async () => {
      await s.registerVersion(versionInput("flights", "a", { gates: FAIL }));
      const err = (await s.setAlias("flights", "production", 1).then(
        () => undefined,
        (e: unknown) => e,
      )) as { code: string; message: string; hint?: string };
      expect(err).toMatchObject({ code: "GATE_FAILED" });
      expect(err.message).toContain("latency_p99");
      expect(err.message).toContain("7.1 ms > 5 ms");
      expect(err.hint).toContain("--force");
      expect(await s.getAlias("flights", "production")).toBeUndefined();
      const forced = await s.setAlias("flights", "production", 1, { force: true, reason: "hotfix", actor: "user:bo" });
      expect(forced.event).toMatchObject({ forced: true, reason: "hotfix", actor: "user:bo" });
    });

    it("does not mark a forced promotion of a passing version as forced", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      expect((await s.setAlias("flights", "production", 1, { force: true })).event?.forced).toBe(false);
    });

    it("rolls back along the history, one move per rollback", async () => {
      for (const l of ["a", "b", "c"]) await s.registerVersion(versionInput("flights", l));
      for (const v of [1, 2, 3]) await s.setAlias("flights", "production", v);
      const back1 = await s.rollback("flights", "production", { actor: "user:ana", reason: "errors up" });
      expect(back1.event).toMatchObject({
        action: "rollback",
        fromVersion: 3,
        toVersion: 2,
        actor: "user:ana",
        reason: "errors up",
      });
      expect((await s.rollback("flights", "production")).alias.version).toBe(1);
      expect(await codeOf(s.rollback("flights", "production"))).toBe("NO_ROLLBACK_TARGET");
      expect((await s.getAlias("flights", "production"))?.version).toBe(1);
      expect(await codeOf(s.rollback("flights", "staging"))).toBe("NOT_FOUND");
      expect(await codeOf(s.rollback("ghost", "production"))).toBe("NOT_FOUND");
    });

    it("deletes an alias and records it", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      await s.setAlias("flights", "staging", 1);
      const ev = await s.deleteAlias("flights", "staging", { actor: "cli" });
      expect(ev).toMatchObject({ action: "delete", fromVersion: 1, toVersion: undefined });
      expect(await s.getAlias("flights", "staging")).toBeUndefined();
      expect(await s.getVersion("flights", "staging")).toBeUndefined();
      expect(await codeOf(s.deleteAlias("flights", "staging"))).toBe("NOT_FOUND");
    });

    it("bumps the alias revision on every move and only then", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      await s.registerVersion(versionInput("flights", "b"));
      const r0 = await s.aliasRevision();
      await s.setAlias("flights", "production", 1);
      const r1 = await s.aliasRevision();
      await s.setAlias("flights", "production", 1);
      expect(await s.aliasRevision()).toBe(r1);
      await s.registerVersion(versionInput("flights", "c"));
      expect(await s.aliasRevision()).toBe(r1);
      await s.setAlias("flights", "production", 2);
      expect(r1).toBeGreaterThan(r0);
      expect(await s.aliasRevision()).toBeGreaterThan(r1);
    });

    it("pins an alias on rollback: automation neither brings the rolled-back version back nor moves it", async () => {
      for (const l of ["a", "b", "c"]) await s.registerVersion(versionInput("flights", l));
      await s.setAlias("flights", "production", 1, {
        actor: "run:r1",
        runId: "r1",
        trigger: "schedule:nightly",
        user: "daemon",
        automated: true,
      });
      await s.setAlias("flights", "production", 2, {
        actor: "run:r2",
        runId: "r2",
        trigger: "manual",
        user: "ana",
        automated: true,
      });
      const back = await s.rollback("flights", "production", { actor: "user:ana", reason: "errors up", user: "ana" });
      expect(back.event).toMatchObject({ action: "rollback", fromVersion: 2, toVersion: 1, pinned: true, user: "ana" });
      expect(back.alias.pin).toMatchObject({
        by: "user:ana",
        reason: "errors up",
        action: "rollback",
        replacedVersion: 2,
      });
      expect((await s.getAlias("flights", "production"))?.pin?.replacedVersion).toBe(2);
      const again = (await s
        .setAlias("flights", "production", 2, { actor: "run:r3", automated: true })
        .catch((e: unknown) => e)) as { code: string; message: string; hint: string };
      expect(again.code).toBe("ALIAS_PINNED");
      expect(again.message).toContain("rolled back");
      expect(again.hint).toContain("trainyard models unpin flights --alias production");
      expect(await codeOf(s.setAlias("flights", "production", 3, { actor: "run:r3", automated: true }))).toBe(
        "ALIAS_PINNED",
      );
      expect((await s.getAlias("flights", "production"))?.version).toBe(1);
      // A person may still move it; the alias stays pinned, now at their choice.
      const manual = await s.setAlias("flights", "production", 3, { actor: "user:bo", reason: "hand-picked" });
      expect(manual.alias.pin).toMatchObject({ by: "user:bo", action: "set", replacedVersion: 1 });
      expect(manual.event?.pinned).toBe(true);
      const history = await s.aliasHistory("flights", "production");
      expect(history.map((e) => [e.runId ?? null, e.trigger ?? null, e.user ?? null])).toEqual([
        ["r1", "schedule:nightly", "daemon"],
        ["r2", "manual", "ana"],
        [null, null, "ana"],
        [null, null, null],
      ]);
    });

    it("releases a pin with a recorded reason; then automation moves the alias again", async () => {
      for (const l of ["a", "b"]) await s.registerVersion(versionInput("flights", l));
      await s.setAlias("flights", "production", 1);
      await s.setAlias("flights", "production", 2);
      await s.rollback("flights", "production", { actor: "user:ana" });
      expect(await codeOf(s.unpin("flights", "staging", { reason: "x" }))).toBe("NOT_FOUND");
      const released = await s.unpin("flights", "production", { actor: "user:bo", reason: "v2 fixed", user: "bo" });
      expect(released).toMatchObject({
        action: "unpin",
        fromVersion: 1,
        toVersion: 1,
        actor: "user:bo",
        reason: "v2 fixed",
        pinned: false,
        user: "bo",
      });
      expect((await s.getAlias("flights", "production"))?.pin).toBeUndefined();
      expect(await codeOf(s.unpin("flights", "production", { reason: "again" }))).toBe("ALIAS_NOT_PINNED");
      const moved = await s.setAlias("flights", "production", 2, { actor: "run:r9", runId: "r9", automated: true });
      expect(moved.event).toMatchObject({ fromVersion: 1, toVersion: 2, runId: "r9", pinned: false });
      // An unpin is not a move: rolling back still goes to the version before the last move.
      expect((await s.rollback("flights", "production")).alias.version).toBe(1);
    });

    it("lets a replace-if-better move past a pin only for another artifact that beat the pinned version", async () => {
      const beat = (version: number): GateVerdict[] => [
        { gate: "auc vs production", kind: "relative", status: "pass", evidence: { productionVersion: version } },
      ];
      await s.registerVersion(versionInput("flights", "a"));
      await s.registerVersion(versionInput("flights", "b", { gates: beat(1) }));
      await s.registerVersion(versionInput("flights", "c"));
      await s.registerVersion(versionInput("flights", "d", { gates: beat(1) }));
      await s.setAlias("flights", "production", 1);
      await s.setAlias("flights", "production", 2);
      await s.rollback("flights", "production", { actor: "user:ana", reason: "errors up" });
      const policy = { automated: true, pinPolicy: "replace-if-better" as const, actor: "run:r5" };
      const sameArtifact = (await s.setAlias("flights", "production", 2, policy).catch((e: unknown) => e)) as {
        code: string;
        message: string;
      };
      expect(sameArtifact).toMatchObject({ code: "ALIAS_PINNED", message: expect.stringContaining("rolled back") });
      const notCompared = (await s.setAlias("flights", "production", 3, policy).catch((e: unknown) => e)) as {
        code: string;
        message: string;
      };
      expect(notCompared).toMatchObject({
        code: "ALIAS_PINNED",
        message: expect.stringContaining("compared it with the pinned version 1"),
      });
      const replaced = await s.setAlias("flights", "production", 4, { ...policy, reason: "every gate passed" });
      expect(replaced.event).toMatchObject({
        fromVersion: 1,
        toVersion: 4,
        pinned: false,
        reason: expect.stringContaining("replaced the pin of user:ana"),
      });
      expect(replaced.alias.pin).toBeUndefined();
    });

    it("pins on a person's forced promotion; automation can never force past a failed gate", async () => {
      await s.registerVersion(versionInput("flights", "a"));
      await s.registerVersion(versionInput("flights", "b", { gates: FAIL }));
      await s.setAlias("flights", "production", 1);
      expect(await codeOf(s.setAlias("flights", "production", 2, { automated: true, force: true }))).toBe(
        "GATE_FAILED",
      );
      const forced = await s.setAlias("flights", "production", 2, { actor: "user:bo", force: true, reason: "hotfix" });
      expect(forced.event).toMatchObject({ forced: true, pinned: true });
      expect(forced.alias.pin).toMatchObject({ by: "user:bo", reason: "hotfix", action: "set", replacedVersion: 1 });
      expect((await s.listAliases("flights"))[0].pin?.by).toBe("user:bo");
      expect(await codeOf(s.setAlias("flights", "production", 1, { automated: true }))).toBe("ALIAS_PINNED");
    });

    it("keeps prediction logs and deploy hook results", async () => {
      await s.appendPredictionLogs([
        { model: "flights", version: 1, alias: "production", ts: 1, input: { x: 1 }, output: 0.2, latencyMs: 0.5 },
        { model: "flights", version: 2, alias: "production", ts: 2, input: { x: 2 }, output: 0.4, latencyMs: 0.7 },
        { model: "flights", version: 2, alias: "staging", ts: 3, input: { x: 3 }, output: 0.6, latencyMs: 0.9 },
      ]);
      const prod = await s.listPredictionLogs({ model: "flights", alias: "production" });
      expect(prod.map((p) => p.input)).toEqual([{ x: 2 }, { x: 1 }]);
      expect(await s.listPredictionLogs({ model: "flights", limit: 1 })).toHaveLength(1);
      await s.recordDeployHook({ eventId: 5, hook: "http://127.0.0.1:1/x", ok: false, detail: "ECONNREFUSED", at: 9 });
      expect(await s.listDeployHooks(5)).toEqual([
        { eventId: 5, hook: "http://127.0.0.1:1/x", ok: false, detail: "ECONNREFUSED", at: 9 },
      ]);
    });

    it(
      "reads one alias's prediction log within a time range, " + "oldest first, with prediction ids and row keys",
      async () => {
        const entry = (alias: string, ts: number, i: number) => ({
          model: "delays",
          version: 1,
          alias,
          ts,
          input: [{ i }],
          output: [i / 10],
          latencyMs: 1,
          predictionId: `p-${i}`,
          rowKeys: i % 2 ? [`row-${i}`] : [null],
        });
        await s.appendPredictionLogs([
          entry("production", 3_000, 3),
          entry("production", 1_000, 1),
          entry("staging", 2_000, 2),
        ]);
        await s.appendPredictionLogs([
          entry("production", 2_000, 4),
          entry("production", 4_000, 5),
          entry("production", 999, 0),
        ]);
        const range = await s.readPredictionLog({ model: "delays", alias: "production", from: 1_000, to: 4_000 });
        expect(range.map((e) => e.predictionId)).toEqual(["p-1", "p-4", "p-3"]);
        expect(range[0]).toEqual({
          model: "delays",
          version: 1,
          alias: "production",
          ts: 1_000,
          input: [{ i: 1 }],
          output: [0.1],
          latencyMs: 1,
          predictionId: "p-1",
          rowKeys: ["row-1"],
        });
        expect(range[1].rowKeys).toEqual([null]);
        expect(
          await s.readPredictionLog({ model: "delays", alias: "production", from: 0, to: 10_000, limit: 2 }),
        ).toHaveLength(2);
        expect(await s.readPredictionLog({ model: "other", alias: "production", from: 0, to: 10_000 })).toEqual([]);
        // Entries logged without the new fields read back without them.
        await s.appendPredictionLogs([
          { model: "old", version: 1, alias: "a", ts: 5, input: {}, output: 1, latencyMs: 1 },
        ]);
        const [old] = await s.readPredictionLog({ model: "old", alias: "a", from: 0, to: 10 });
        expect(old).not.toHaveProperty("predictionId");
        expect(old).not.toHaveProperty("rowKeys");
      },
    );

    it("prunes the prediction log by age and by rows, oldest first and at most `limit` rows a call", async () => {
      const entry = (i: number, ts: number) => ({
        model: "m",
        version: 1,
        alias: "a",
        ts,
        input: { i },
        output: i,
        latencyMs: 1,
      });
      // 10 rows from long ago, then 30 recent ones.
      await s.appendPredictionLogs(Array.from({ length: 10 }, (_, i) => entry(i, 1_000 + i)));
      await s.appendPredictionLogs(Array.from({ length: 30 }, (_, i) => entry(10 + i, 1_000_000 + i)));
      const left = async () =>
        (await s.listPredictionLogs({ model: "m", limit: 1000 })).map((e) => (e.input as { i: number }).i);

      expect(await s.prunePredictionLogs({ before: 500_000, limit: 4 })).toBe(4);
      expect((await left()).sort((a, b) => a - b)[0]).toBe(4);
      expect(await s.prunePredictionLogs({ before: 500_000, limit: 100 })).toBe(6);
      expect(await s.prunePredictionLogs({ before: 500_000, limit: 100 })).toBe(0);
      expect(await left()).toHaveLength(30);

      expect(await s.prunePredictionLogs({ keepRows: 12, limit: 100 })).toBe(18);
      expect(await left()).toEqual(Array.from({ length: 12 }, (_, i) => 39 - i));
      expect(await s.prunePredictionLogs({ keepRows: 12, before: 0, limit: 100 })).toBe(0);
      expect(await s.prunePredictionLogs({ limit: 100 })).toBe(0);
    });
  });
}
