/**
 * A real Trainyard home holding registered models: a small pipeline (ingest -> train) runs for
 * real, so versions point at stored model directories with lineage back to the raw data.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { pipeline } from "../../src/core/pipeline.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { registerModel } from "../../src/lib/registry/index.js";
import type { GateVerdict, ModelVersionRecord } from "../../src/store/registry-store.js";

/** A two-step pipeline: `raw` writes a CSV, `train` fits y = w*x + b on it and writes a bundle. */
export function demoPipeline() {
  const p = pipeline("demo-train", { params: z.object({ slope: z.number().default(2), bias: z.number().default(1) }) });
  const raw = p.step("raw", {
    params: ["slope"],
    run: (ctx) => {
      writeFileSync(join(ctx.workdir, "raw.csv"), `x,y\n1,${ctx.params.slope}\n2,${2 * ctx.params.slope}\n`);
      return { data: ctx.file("raw.csv") };
    },
  });
  p.step("train", {
    params: ["slope", "bias"],
    inputs: { raw },
    run: (ctx, { raw }) => {
      const dir = join(ctx.workdir, "model");
      const bundle = {
        kind: "test-linear",
        label: "y",
        weights: { x: ctx.params.slope },
        bias: ctx.params.bias,
        trainedOn: raw.data.digest,
      };
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "bundle.json"), JSON.stringify(bundle));
      return { model: ctx.directory("model"), metrics: { rmse: 0.1 } };
    },
  });
  return p;
}

export async function openModelHome(home = mkdtempSync(join(tmpdir(), "ty-models-"))): Promise<Trainyard> {
  return Trainyard.open({ home });
}

/** Runs the pipeline with a slope and registers its model as a new version. */
export async function trainAndRegister(
  ty: Trainyard,
  model: string,
  slope: number,
  gates: GateVerdict[] = [{ gate: "rmse <= 1", status: "pass", message: "0.1 <= 1" }],
): Promise<ModelVersionRecord> {
  const result = await ty.run(demoPipeline(), { params: { slope } });
  if (result.status !== "succeeded") throw new Error(`demo pipeline failed: ${JSON.stringify(result.error)}`);
  const out = (await ty.output(result.runId, "train")) as {
    model: { digest: string };
    metrics: Record<string, number>;
  };
  const { version } = await registerModel(ty, {
    model,
    artifactDigest: out.model.digest,
    runId: result.runId,
    stepRunId: `${result.runId}:train`,
    metrics: out.metrics,
    gates,
  });
  return version;
}
