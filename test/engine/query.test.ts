/**
 * The engine's query API on a real SQLite home: runs by cursor and trigger, one run in detail
 * (attempts, cache decisions, trigger, items), step logs, artifact lineage and registry views.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { isTrainyardError } from "../../src/core/errors.js";
import { pipeline } from "../../src/core/pipeline.js";
import type { TrainyardQuery } from "../../src/engine/query.js";
import type { MetadataStore, RunRecord } from "../../src/store/metadata-store.js";
import { openRegistry, promoteAlias } from "../../src/lib/registry/index.js";
import { trainAndRegister } from "../registry/model-home.js";
import { useHomes } from "./support.js";
import { shortDigest } from "../../src/core/hash.js";

const homes = useHomes();

function runRecord(id: string, createdAt: number, trigger = "manual"): RunRecord {
  const base = { pipeline: "p", modulePath: "/p.ts", params: {}, status: "succeeded" as const, codeVersion: "c" };
  return { ...base, options: {}, id, createdAt, trigger, startedAt: createdAt, finishedAt: createdAt + 1 };
}

async function allPages(query: TrainyardQuery, q: { limit: number; trigger?: string }): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const r = await query.listRuns({ ...q, cursor });
    expect(r.runs.length).toBeLessThanOrEqual(q.limit);
    ids.push(...r.runs.map((x) => x.id));
    cursor = r.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error("pagination did not end");
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTrainyardError(err)) throw new Error(`expected a TrainyardError, got ${String(err)}`);
  return err;
}

async function seedRuns(metadata: MetadataStore): Promise<void> {
  // Three runs created in the same millisecond: pages must neither repeat nor drop them.
  const times = [1000, 2000, 2000, 2000, 3000, 4000, 5000];
  const triggers = [
    "manual",
    "schedule:nightly",
    "schedule:hourly",
    "scheduler",
    "data:landing",
    "schedule:nightly",
    "manual",
  ];
  for (const [i, t] of times.entries()) await metadata.createRun(runRecord(`run-${i}`, t, triggers[i]));
}

describe("listing runs", () => {
  it("pages newest first by cursor, each run exactly once, runs of one millisecond included", async () => {
    const { ty } = await homes.open();
    await seedRuns(ty.metadata);
    const everything = (await ty.metadata.listRuns({ limit: 100 })).map((r) => r.id);
    expect(everything).toHaveLength(7);
    for (const limit of [1, 2, 3, 7, 10]) expect(await allPages(ty.query, { limit })).toEqual(everything);
  });

  it("filters by a trigger or a kind of trigger", async () => {
    const { ty } = await homes.open();
    await seedRuns(ty.metadata);
    const ids = async (trigger: string) => {
      const page = await ty.query.listRuns({ trigger, limit: 50 });
      return page.runs.map((r) => r.id).sort();
    };
    expect(await ids("schedule")).toEqual(["run-1", "run-2", "run-5"]);
    expect(await ids("schedule:nightly")).toEqual(["run-1", "run-5"]);
    expect(await ids("scheduler")).toEqual(["run-3"]);
    expect(await allPages(ty.query, { limit: 1, trigger: "schedule" })).toEqual(["run-5", "run-2", "run-1"]);
  });

  it("refuses a cursor it did not make", async () => {
    const { ty } = await homes.open();
    const err = await rejection(ty.query.listRuns({ cursor: "not-a-cursor" }));
    expect(err.code).toBe("USAGE");
    expect(err.hint).toContain("nextCursor");
  });
});

describe("a run in detail", () => {
  function flaky(tries: Map<number, number>) {
    const p = pipeline("detail", { params: z.object({ n: z.number().default(2) }) });
    const items = p.step("items", { params: ["n"], run: (ctx) => Array.from({ length: ctx.params.n }, (_, i) => i) });
    p.map("each", {
      over: items,
      run: (ctx, item: number) => {
        ctx.log(`item ${item} here`);
        return item * 10;
      },
    });
    p.step("flaky", {
      cache: false,
      retry: { attempts: 2, initialDelayMs: 1, jitter: 0 },
      run: (ctx) => {
        ctx.log(`attempt ${ctx.attempt}`);
        tries.set(ctx.attempt, (tries.get(ctx.attempt) ?? 0) + 1);
        if (ctx.attempt === 1) throw new Error("first attempt fails");
        return "ok";
      },
    });
    return p;
  }

  it("has the trigger, each attempt, cache decisions and map items", async () => {
    const { ty } = await homes.open();
    const first = await ty.run(flaky(new Map()), { trigger: "schedule:nightly" });
    expect(first.status).toBe("succeeded");
    const second = await ty.run(flaky(new Map()));
    // A prefix one character past where the two ids differ: runs started in the same second share more.
    const differ = [...second.runId].findIndex((c, i) => c !== first.runId[i]);
    const detail = await ty.query.runDetail(second.runId.slice(0, Math.max(17, differ + 1)));
    expect(detail.run.id).toBe(second.runId);
    expect(detail.trigger).toEqual({ kind: "manual", text: "manual" });
    const scheduled = (await ty.query.runDetail(first.runId)).trigger;
    expect(scheduled).toEqual({ kind: "schedule", name: "nightly", text: "schedule:nightly" });

    const step = (id: string) => detail.stepDetails.find((s) => s.stepId === id)!;
    expect(step("items").cache).toMatchObject({ decision: "hit", from: `${first.runId}:items` });
    expect(step("flaky").cache).toEqual({ decision: "computed", reason: "caching is disabled for this step" });
    expect(step("flaky").attemptRecords.map((a) => a.status)).toEqual(["failed", "succeeded"]);
    expect(step("flaky").attemptRecords[0].error?.message).toContain("first attempt fails");
    expect(step("each").itemRecords.map((i) => i.itemIndex)).toEqual([0, 1]);
    expect(step("each").itemRecords.every((i) => i.cached)).toBe(true);
    expect(detail.steps.length).toBe(detail.stepDetails.length + 2);
    expect(detail.owner).toBeUndefined();

    const computed = (await ty.query.runDetail(first.runId)).stepDetails.find((s) => s.stepId === "items")!;
    expect(computed.cache).toEqual({ decision: "computed", reason: "no cached result for this cache key" });
  });

  it("reads a step's log by attempt, and a map step's log as its items', labelled", async () => {
    const { ty } = await homes.open();
    const run = await ty.run(flaky(new Map()));
    const lines = async (step: string, q = {}) => {
      const out: string[] = [];
      for await (const c of ty.query.stepLog(run.runId, step, q)) {
        out.push(...c.lines.map((l) => `#${c.attempt} ${c.label}${l}`));
      }
      return out;
    };
    // The failed first attempt's log ends with its error; the second succeeded.
    const all = await lines("flaky");
    expect(all[0]).toBe("#1 attempt 1");
    expect(all[1]).toMatch(/^#1 error: /);
    expect(all.at(-1)).toBe("#2 attempt 2");
    expect(all.filter((l) => l.startsWith("#2"))).toEqual(["#2 attempt 2"]);
    expect(await lines("flaky", { attempt: 2 })).toEqual(["#2 attempt 2"]);
    expect(await lines("each")).toEqual(["#1 [0] item 0 here", "#1 [1] item 1 here"]);
    expect(await lines("each", { item: 1 })).toEqual(["#1 item 1 here"]);
    const missing = await rejection(lines("nope"));
    expect(missing.code).toBe("NOT_FOUND");
    expect(missing.message).toContain('no step "nope"');
    expect((await rejection(ty.query.runDetail("no-such-run"))).code).toBe("NOT_FOUND");
  });
});

describe("lineage and the registry", () => {
  it("answers artifact lineage with readers, and models, versions, aliases and history", async () => {
    const { ty } = await homes.open();
    const v1 = await trainAndRegister(ty, "lin", 2);
    const v2 = await trainAndRegister(ty, "lin", 3);
    await promoteAlias(ty, "lin", "production", v1.version, { actor: "test", hooks: [] });
    await promoteAlias(ty, "lin", "production", v2.version, { actor: "test", reason: "better", hooks: [] });

    const tree = await ty.query.artifactLineage(shortDigest(v2.artifactDigest));
    expect(tree.producedBy?.stepId).toBe("train");
    const raw = tree.producedBy!.inputs.find((i) => i.node.kind === "file")!.node;
    expect((await ty.query.artifactLineage(raw.digest)).readBy.map((r) => r.stepId)).toContain("train");
    expect((await rejection(ty.query.artifact("ffffffffffff"))).code).toBe("NOT_FOUND");

    expect((await ty.query.models()).map((m) => [m.name, m.latestVersion])).toEqual([["lin", 2]]);
    const model = await ty.query.model("lin");
    expect(model.versions.map((v) => v.version).sort()).toEqual([1, 2]);
    expect(model.history.map((e) => [e.fromVersion ?? null, e.toVersion, e.reason ?? null])).toEqual([
      [null, 1, null],
      [1, 2, "better"],
    ]);
    expect(await ty.query.aliasHistory("lin", "production")).toEqual(model.history);
    expect(await ty.query.modelVersion("lin@production")).toMatchObject({ version: 2, aliases: ["production"] });
    expect(await ty.query.modelVersion("lin@1")).toMatchObject({ version: 1, aliases: [] });
    const lineage = await ty.query.modelLineage("lin");
    expect(lineage).toMatchObject({ model: "lin", version: 2, aliases: ["production"], params: { slope: 3 } });
    expect(lineage.sources.length).toBeGreaterThan(0);
    const unknown = await rejection(ty.query.model("nope"));
    expect(unknown.code).toBe("NOT_FOUND");
    expect((await rejection(ty.query.modelVersion("lin@9"))).message).toContain("9");
    // The registry the query reads is the one steps and the CLI write: one per Trainyard.
    expect(openRegistry(ty)).toBe(ty.registry);
    expect(fs.existsSync(path.join(ty.home, "metadata.db"))).toBe(true);
  });
});
