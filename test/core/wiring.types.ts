/**
 * Compile-time tests of the authoring API, checked by `npm run typecheck` (tsc): each
 * `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
 */
import { z } from "zod";
import { pipeline, type Dataset, type ModelArtifact, type StepRef } from "trainyard";

const p = pipeline("types", {
  params: z.object({ lr: z.number().default(0.1), name: z.string().default("x") }),
});

const count = p.step("count", { run: () => 42 });
const label = p.step("label", { run: () => "hello" });
const data = p.step("data", { run: (ctx) => ctx.dataset("d.parquet") });
const model = p.step("model", { inputs: { data }, run: (ctx, { data }) => ctx.model(`${data.path}.model`) });

// Inputs are typed by the producing step's output.
p.step("ok", {
  inputs: { count, label },
  run: (_ctx, { count, label }) => count.toFixed(1) + label.toUpperCase(),
});

p.step("wrong-number", {
  inputs: { count: label },
  // @ts-expect-error a string output wired into an input that needs a number
  run: (_ctx, { count }: { count: number }) => count + 1,
});

p.step("wrong-artifact", {
  inputs: { data: model },
  // @ts-expect-error a model wired where a dataset is required
  run: (_ctx, { data }: { data: Dataset }) => data.meta.rows,
});

function profileStep(id: string, input: StepRef<Dataset>) {
  return p.step(id, { inputs: { input }, run: (_ctx, { input }) => input.digest });
}
profileStep("profile-ok", data);
// @ts-expect-error a library step that needs a dataset refuses a model
profileStep("profile-bad", model);

// A step sees only the params it declares.
p.step("params", {
  params: ["lr"],
  run: (ctx) => {
    const lr: number = ctx.params.lr;
    // @ts-expect-error `name` was not declared by this step
    return lr + ctx.params.name.length;
  },
});

// @ts-expect-error an undeclared pipeline param cannot be requested
p.step("unknown-param", { params: ["momentum"], run: () => 1 });

// Map steps type their items from the list they fan out over.
const months = p.step("months", { run: () => [1, 2, 3] });
const perMonth = p.map("per-month", { over: months, run: (_ctx, m) => ({ month: m, twice: m * 2 }) });
p.step("reduce", { inputs: { perMonth }, run: (_ctx, { perMonth }) => perMonth.reduce((s, r) => s + r.twice, 0) });
// @ts-expect-error map over something that is not a list
p.map("bad-map", { over: count, run: (_ctx, m) => m });

// Command outputs are typed by their declared kinds.
const trained = p.command("train", {
  run: ["python3", "train.py"],
  outputs: { model: "model", metrics: { path: "m.json", kind: "file" } },
});
p.step("use-command", {
  inputs: { trained },
  run: (_ctx, { trained }) => {
    const m: ModelArtifact = trained.model;
    return m.path + trained.metrics.path;
  },
});

// pick() narrows to one field.
const split = p.step("split", { run: (ctx) => ({ train: ctx.dataset("t.parquet"), test: ctx.dataset("e.parquet") }) });
const train: StepRef<Dataset> = split.pick("train");
// @ts-expect-error no such field
split.pick("validation");
void train;
