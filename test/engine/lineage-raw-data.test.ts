/** A model's "raw data" are the leaves of its lineage: the landed files, not the steps' intermediates. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/core/pipeline.js";
import { sha256 } from "../../src/core/hash.js";
import { registerModel } from "../../src/lib/registry/index.js";
import { useHomes } from "./support.js";

const homes = useHomes();

describe("model lineage's raw data", () => {
  it("lists the landed files the pipeline read, and nothing a step wrote", async () => {
    const { ty } = await homes.open();
    const landing = homes.tempDir("ty-landing-");
    const landed = ["2026-01.csv", "2026-02.csv"].map((name, i) => {
      const file = join(landing, name);
      writeFileSync(file, `x,y\n${i},${2 * i}\n`);
      return file;
    });
    const p = pipeline("landed-train", { params: z.object({ landing: z.string() }) });
    const partitions = p.step("partitions", {
      params: ["landing"],
      sources: () => landed,
      run: () => landed,
    });
    const ingest = p.map("ingest", {
      over: partitions,
      run: (ctx, file) => {
        writeFileSync(join(ctx.workdir, "part.csv"), `${readFileSync(file, "utf8")}# from ${file}\n`);
        return ctx.file("part.csv");
      },
    });
    const merged = p.step("merge", {
      inputs: { ingest },
      run: (ctx, { ingest }) => {
        writeFileSync(join(ctx.workdir, "all.csv"), ingest.map((f) => readFileSync(f.path, "utf8")).join(""));
        return ctx.file("all.csv");
      },
    });
    p.step("train", {
      inputs: { merged },
      run: (ctx) => {
        mkdirSync(join(ctx.workdir, "model"));
        writeFileSync(join(ctx.workdir, "model", "bundle.json"), "{}");
        return { model: ctx.directory("model") };
      },
    });
    const result = await ty.run(p, { params: { landing } });
    expect(result.status).toBe("succeeded");
    const out = (await ty.output(result.runId, "train")) as { model: { digest: string } };
    await registerModel(ty, {
      model: "landed",
      artifactDigest: out.model.digest,
      runId: result.runId,
      stepRunId: `${result.runId}:train`,
    });
    const lineage = await ty.query.modelLineage("landed@1");
    const expected = landed.map((f) => `sha256:${sha256(readFileSync(f))}`).sort();
    expect(lineage.sources.map((s) => s.digest).sort()).toEqual(expected);
  });
});
