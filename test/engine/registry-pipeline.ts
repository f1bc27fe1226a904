/** A pipeline module text using the registry steps and ctx.services(), for the configured-store tests. */

/** train -> current production -> gates -> register -> deploy, as a module using the public entry points. */
export const REGISTRY_PIPELINE = `
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { pipeline } from "trainyard";
import { currentModel, deploy, register, type GatesResult } from "trainyard/models";

const p = pipeline("configured-registry", { params: z.object({ slope: z.number().default(2) }) });
const train = p.step("train", {
  params: ["slope"],
  run: (ctx) => {
    mkdirSync(join(ctx.workdir, "model"));
    writeFileSync(join(ctx.workdir, "model", "bundle.json"), JSON.stringify({ slope: ctx.params.slope }));
    return { model: ctx.model("model") };
  },
});
const model = train.pick("model");
const current = currentModel(p, "current", { name: "flights", alias: "production", candidate: model });
const gates = p.step("gates", {
  inputs: { current },
  run: (_ctx, { current }): GatesResult => ({
    passed: true,
    verdicts: [
      {
        gate: "beats production",
        kind: "relative",
        status: current === null ? "no-baseline" : "pass",
        message: "ok",
        evidence: {},
      },
    ],
  }),
});
const registered = register(p, "register", { name: "flights", model, gates });
deploy(p, "deploy", { registered, alias: "production" });
// A user's own isolated step reaching the same stores from its child process.
p.step("audit", {
  isolate: true,
  inputs: { registered },
  run: async (ctx) => {
    const services = await ctx.services();
    const run = await services.metadata.getRun(ctx.runId);
    const models = await services.registry.listModels();
    return { trigger: run?.trigger, models: models.map((m) => m.name), home: services.home };
  },
});
export default p;
`;
