import path from "node:path";
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { tempDir, useHomes } from "../engine/support.js";
import { CLI_FIXTURE, cli, summaryOf, type RunSummary } from "./support.js";
import { shortDigest } from "../../src/core/hash.js";
import { digestHex } from "../../src/core/digest-format.js";

const homes = useHomes();

interface FileHandle {
  digest: string;
  path: string;
}

async function withHome<T>(home: string, fn: (ty: Trainyard) => Promise<T>): Promise<T> {
  const ty = await Trainyard.open({ home });
  try {
    return await fn(ty);
  } finally {
    await ty.close();
  }
}

describe("inspecting runs", () => {
  // One home with two runs (n=2, then n=7) shared by the read-only commands below.
  let home: string;
  let r1: RunSummary;
  let r2: RunSummary;
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
  beforeAll(async () => {
    home = tempDir("ty-cli-inspect-");
    r1 = summaryOf(await cli(["run", CLI_FIXTURE, "--json"], home));
    r2 = summaryOf(await cli(["run", CLI_FIXTURE, "--param", "n=7", "--json"], home));
    expect([r1.status, r2.status]).toEqual(["succeeded", "succeeded"]);
  });

  it("plan: says what would be reused and what would run, and why, without running", async () => {
    const same = await cli(["plan", CLI_FIXTURE, "--param", "n=7", "--json"], home);
    expect(same.code).toBe(0);
    const plan = JSON.parse(same.stdout) as {
      pipeline: string;
      steps: Array<{ step: string; action: string; reasons: string[] }>;
    };
    expect(plan.pipeline).toBe("cli-demo");
    expect(plan.steps.map((s) => s.action)).toEqual(["reuse", "reuse", "reuse", "reuse"]);

    const changed = await cli(["plan", CLI_FIXTURE, "--param", "n=9"], home);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/cli-demo: 1 to run, 1 to reuse, 2 decided when the steps they depend on have run/);
    expect(changed.stdout).toMatch(/run\s+count/);
    expect(changed.stdout).toMatch(/reuse label/);
    expect(changed.stdout).toContain("param `n` changed 7 -> 9");
    const runs = JSON.parse((await cli(["runs", "--json"], home)).stdout) as unknown[];
    expect(runs).toHaveLength(2);
  });

  it("why: explains a param change and a cache hit", async () => {
    const miss = await cli(["why", r2.runId, "count", "--json"], home);
    expect(miss.code).toBe(0);
    const why = JSON.parse(miss.stdout) as { decision: string; reasons: string[]; against?: { runId: string } };
    expect(why.decision).toBe("ran");
    expect(why.reasons).toContain("cache miss: param `n` changed 2 -> 7");
    expect(why.against?.runId).toBe(r1.runId);
    const hit = await cli(["why", r2.runId, "label"], home);
    expect(hit.code).toBe(0);
    expect(hit.stdout).toContain(`label in run ${r2.runId}: cache hit`);
    expect(hit.stdout).toContain(`${r1.runId}:label`);
    const unknown = await cli(["why", r2.runId, "nope"], home);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error[NOT_FOUND]");
    for (const id of ["count", "label", "report", "check"]) expect(unknown.stderr).toContain(id);
    expect((await cli(["why", r2.runId], home)).code).toBe(2);
  });

  it("runs: lists runs newest first, filtered by pipeline", async () => {
    const json = JSON.parse((await cli(["runs", "--json"], home)).stdout) as Array<{
      id: string;
      status: string;
      pipeline: string;
    }>;
    expect(json.map((r) => r.id)).toEqual([r2.runId, r1.runId]);
    const text = await cli(["runs"], home);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(r1.runId);
    expect(text.stdout).toContain("succeeded");
    expect((await cli(["runs", "--pipeline", "other"], home)).stdout).toMatch(/no runs in/);
    expect(JSON.parse((await cli(["runs", "--limit", "1", "--json"], home)).stdout)).toHaveLength(1);
  });

  it("show: prints a run with its steps, in text and JSON, by unique id prefix", async () => {
    const json = await cli(["show", r2.runId, "--json"], home);
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.stdout) as {
      run: { id: string; params: Record<string, unknown>; status: string };
      steps: Array<{ stepId: string; cached: boolean }>;
    };
    expect(shown.run).toMatchObject({
      id: r2.runId,
      status: "succeeded",
      params: { n: 7, label: "x", loud: false, fail: false },
    });
    expect(shown.steps.map((s) => s.stepId).sort()).toEqual(["check", "count", "label", "report"]);
    expect(shown.steps.find((s) => s.stepId === "label")!.cached).toBe(true);
    const text = await cli(["show", r2.runId], home);
    expect(text.stdout).toContain(`run ${r2.runId}`);
    expect(text.stdout).toContain("cli-demo");
    expect(text.stdout).toMatch(/label\s+cached/);
    const missing = await cli(["show", "nope-nope"], home);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("error[NOT_FOUND]");
  });

  it("logs: prints a step's log lines", async () => {
    const r = await cli(["logs", r2.runId, "count"], home);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("counting to 7");
    const json = JSON.parse((await cli(["logs", r2.runId, "count", "--json"], home)).stdout) as Array<{
      line: string;
      attempt: number;
      stream: string;
    }>;
    expect(json).toEqual([expect.objectContaining({ line: "counting to 7", attempt: 1, stream: "log" })]);
    const none = await cli(["logs", r2.runId, "ghost"], home);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("error[NOT_FOUND]");
  });

  it("lineage: traces an artifact from a digest prefix back to the steps that made it", async () => {
    const file = await withHome(
      home,
      async (ty) => ((await ty.output(r2.runId, "report")) as { file: FileHandle }).file,
    );
    const text = await cli(["lineage", digestHex(file.digest).slice(0, 10)], home);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(shortDigest(file.digest));
    expect(text.stdout).toContain(`written by report (${r2.runId}:report)`);
    expect(text.stdout).toMatch(/count: /);
    expect(text.stdout).toMatch(/label: /);
    const json = JSON.parse((await cli(["lineage", file.digest, "--json"], home)).stdout) as {
      digest: string;
      kind: string;
      producedBy: {
        stepId: string;
        runId: string;
        inputs: Array<{ name: string; node: { producedBy?: { stepId: string } } }>;
      };
    };
    expect(json).toMatchObject({
      digest: file.digest,
      kind: "file",
      producedBy: { stepId: "report", runId: r2.runId },
    });
    expect(Object.fromEntries(json.producedBy.inputs.map((i) => [i.name, i.node.producedBy?.stepId]))).toEqual({
      count: "count",
      label: "label",
    });
    const unknown = await cli(["lineage", "ffffffffff"], home);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error[NOT_FOUND]");
    expect(unknown.stderr).toContain("hint:");
  });
});

describe("trainyard gc", () => {
  it(
    "after --keep-last 1, " + "removes artifacts only the deleted runs used and keeps those the kept run uses",
    async () => {
      const home = homes.tempDir("ty-cli-gc-");
      const runs: RunSummary[] = [];
      for (const n of [1, 2, 3])
        runs.push(summaryOf(await cli(["run", CLI_FIXTURE, "--param", `n=${n}`, "--json"], home)));
      const files = await withHome(home, async (ty) =>
        Promise.all(runs.map(async (r) => ((await ty.output(r.runId, "report")) as { file: FileHandle }).file)),
      );
      const labelDigest = await withHome(
        home,
        async (ty) => (await ty.metadata.getStepRun(`${runs[0].runId}:label`))!.outputDigest!,
      );
      expect(new Set(files.map((f) => f.digest)).size).toBe(3);

      const dry = await cli(["gc", "--keep-last", "1", "--grace", "0", "--dry-run", "--json"], home);
      expect(dry.code).toBe(0);
      expect((JSON.parse(dry.stdout) as { runsRemoved: string[] }).runsRemoved.sort()).toEqual(
        [runs[0].runId, runs[1].runId].sort(),
      );
      const store = new FsArtifactStore(path.join(home, "artifacts"));
      for (const f of files) expect(await store.has(f.digest)).toBe(true);

      const gc = await cli(["gc", "--keep-last", "1", "--grace", "0"], home);
      expect(gc.code).toBe(0);
      expect(gc.stdout).toMatch(/removed 2 runs and \d+ artifacts/);
      expect(await store.has(files[0].digest)).toBe(false);
      expect(await store.has(files[1].digest)).toBe(false);
      expect(await store.has(files[2].digest)).toBe(true);
      await withHome(home, async (ty) => {
        expect((await ty.metadata.listRuns()).map((r) => r.id)).toEqual([runs[2].runId]);
        expect(await ty.metadata.getArtifact(files[0].digest)).toBeUndefined();
        expect(await ty.metadata.getArtifact(files[2].digest)).toBeDefined();
        // label was computed in run 1 and reused by run 3, so it is still needed.
        expect(await ty.metadata.getArtifact(labelDigest)).toBeDefined();
        expect(await ty.output(runs[2].runId, "report")).toMatchObject({ total: 3 });
      });

      const again = summaryOf(await cli(["run", CLI_FIXTURE, "--param", "n=3", "--json"], home));
      expect(again.steps.every((s) => s.cached)).toBe(true);
      const redo = summaryOf(await cli(["run", CLI_FIXTURE, "--param", "n=1", "--json"], home));
      expect(redo.status).toBe("succeeded");
      expect(Object.fromEntries(redo.steps.map((s) => [s.step, s.cached]))).toMatchObject({
        count: false,
        label: true,
        report: false,
      });
    },
  );

  it("rejects a malformed --older-than", async () => {
    const home = homes.tempDir("ty-cli-gc-");
    const r = await cli(["gc", "--older-than", "soon"], home);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("30d");
  });
});
