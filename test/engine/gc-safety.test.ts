/**
 * gc never removes what a live run or a registered model needs: objects in a live process's
 * pending journal, objects younger than the grace period, the runs a model version's lineage
 * reads; and it refuses to run against a metadata database that looks empty.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Trainyard } from "../../src/engine/trainyard.js";
import { pipeline } from "../../src/index.js";
import type { FileArtifact } from "../../src/index.js";
import { handlesIn } from "../../src/core/artifacts.js";
import { openRegistry } from "../../src/lib/registry/open-registry.js";
import { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { selfIdentity } from "../../src/store/process-identity.js";
import { cli } from "../cli/support.js";
import { demoPipeline, trainAndRegister } from "../registry/model-home.js";
import { useHomes } from "./support.js";

const homes = useHomes();

/** Four steps, each storing a file whose content depends on `n`, with a short pause in each. */
function build() {
  const p = pipeline("gc-loop", { params: z.object({ n: z.number() }) });
  let prev: ReturnType<typeof p.step> | undefined;
  for (const id of ["a", "b", "c", "d"]) {
    const inputs = (prev ? { up: prev } : {}) as Record<string, never>;
    prev = p.step(id, {
      params: ["n"],
      inputs,
      run: async (ctx) => {
        await new Promise((r) => setTimeout(r, 40));
        fs.writeFileSync(path.join(ctx.workdir, "out.txt"), `${id} of run ${ctx.params.n}\n`.repeat(100));
        return { out: ctx.file("out.txt"), n: ctx.params.n };
      },
    });
  }
  return p;
}

async function objectCount(home: string): Promise<number> {
  return (await new FsArtifactStore(path.join(home, "artifacts")).list()).length;
}

describe("gc safety", () => {
  it("loses no object of 10 runs while `trainyard gc --grace 0` runs in a loop beside them", async () => {
    const { ty, home } = await homes.open();
    let stop = false;
    let gcRuns = 0;
    const failures: string[] = [];
    const loop = (async () => {
      while (!stop) {
        const r = await cli(["gc", "--grace", "0"], home);
        if (r.code !== 0) failures.push(r.stderr);
        gcRuns++;
      }
    })();
    const results = [];
    try {
      for (let n = 0; n < 10; n++) results.push(await ty.run(build(), { params: { n }, concurrency: 2 }));
    } finally {
      stop = true;
      await loop;
    }
    expect(failures).toEqual([]);
    expect(gcRuns).toBeGreaterThan(1);
    const fresh = await Trainyard.open({ home });
    try {
      let missing = 0;
      for (const r of results) {
        expect(r.status).toBe("succeeded");
        for (const step of ["a", "b", "c", "d"]) {
          const out = (await fresh.output(r.runId, step)) as { out: FileArtifact; n: number };
          for (const h of handlesIn(out)) if (!fs.existsSync(h.path)) missing++;
          expect(fs.readFileSync(out.out.path, "utf8")).toBe(`${step} of run ${out.n}\n`.repeat(100));
        }
      }
      expect(missing).toBe(0);
    } finally {
      await fresh.close();
    }
  }, 120_000);

  it("refuses to run against a zero-byte metadata.db while the store holds objects, deleting nothing", async () => {
    const { ty, home } = await homes.open();
    expect((await ty.run(build(), { params: { n: 1 } })).status).toBe("succeeded");
    await ty.close();
    const before = await objectCount(home);
    expect(before).toBeGreaterThan(0);
    for (const f of ["metadata.db-wal", "metadata.db-shm"]) fs.rmSync(path.join(home, f), { force: true });
    fs.truncateSync(path.join(home, "metadata.db"), 0);

    const r = await cli(["gc", "--grace", "0"], home);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("GC_REFUSED");
    expect(r.stderr).toContain("metadata.db");
    expect(r.stderr).toContain("hint:");
    expect(await objectCount(home)).toBe(before);
  });

  it("keeps objects listed in a live process's pending journal and younger than the grace period", async () => {
    const { ty, home } = await homes.open();
    expect((await ty.run(build(), { params: { n: 1 } })).status).toBe("succeeded");
    const store = new FsArtifactStore(path.join(home, "artifacts"));
    const held = await store.putBytes(Buffer.from("stored, its records not committed yet"));
    // A journal left by a dead process (pid 0 never runs a program) holds nothing.
    const gone = new FsArtifactStore(path.join(home, "artifacts"));
    const orphan = await gone.putBytes(Buffer.from("stored by a process that died"));
    await gone.close();
    const me = selfIdentity();
    fs.writeFileSync(
      path.join(home, "artifacts", "pending", "999999-1-0"),
      `${JSON.stringify({ ...me, pid: 999999, startTicks: 1 })}\n${orphan.digest}\n`,
    );

    const young = await ty.gc({});
    expect(young.keptYoung).toBeGreaterThanOrEqual(1);
    expect(await store.has(orphan.digest)).toBe(true);

    const r = await ty.gc({ graceMs: 0 });
    expect(r.keptPending).toBe(1);
    expect(await store.has(held.digest)).toBe(true);
    expect(await store.has(orphan.digest)).toBe(false);
    expect(fs.existsSync(path.join(home, "artifacts", "pending", "999999-1-0"))).toBe(false);

    await store.close();
    await ty.gc({ graceMs: 0 });
    expect(await store.has(held.digest)).toBe(false);
  });

  it("after --keep-last 1, a registered model's lineage still shows its run, params and raw data", async () => {
    const { ty, home } = await homes.open();
    const v = await trainAndRegister(ty, "m", 2);
    await openRegistry(ty).setAlias("m", "production", v.version);
    for (const slope of [3, 4, 5])
      expect((await ty.run(demoPipeline(), { params: { slope } })).status).toBe("succeeded");
    const raw = ((await ty.output(v.runId!, "raw")) as { data: FileArtifact }).data;
    await ty.close();

    const gc = await cli(["gc", "--keep-last", "1", "--grace", "0", "--json"], home);
    expect(gc.code).toBe(0);
    const result = JSON.parse(gc.stdout) as { runsRemoved: string[]; runsKeptForModels: string[] };
    expect(result.runsRemoved.length).toBe(2);
    expect(result.runsKeptForModels).toEqual([v.runId]);

    const shown = await cli(["lineage", "m@production", "--json"], home);
    expect(shown.code).toBe(0);
    const lin = JSON.parse(shown.stdout) as {
      run?: { id: string; params: Record<string, unknown> };
      artifact: { producedBy?: { stepId: string; inputs: Array<{ node: { producedBy?: { stepId: string } } }> } };
      sources: Array<{ digest: string }>;
    };
    expect(lin.run?.id).toBe(v.runId);
    expect(lin.run?.params).toMatchObject({ slope: 2 });
    expect(lin.artifact.producedBy?.stepId).toBe("train");
    expect(lin.artifact.producedBy?.inputs[0].node.producedBy?.stepId).toBe("raw");
    expect(lin.sources.map((s) => s.digest)).toEqual([raw.digest]);
    const text = await cli(["lineage", "m@production"], home);
    expect(text.stdout).not.toContain("run unknown");
    expect(fs.existsSync(raw.path)).toBe(true);
  });
});
