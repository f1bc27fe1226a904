/**
 * A first pipeline: which species is a penguin, from its measurements?
 *
 *   ingest data/penguins.csv -> stratified split -> features -> train (gradient-boosted trees)
 *   -> evaluate on the held-out birds -> gates -> register -> deploy (penguins@production)
 *
 * Run it with `npx trainyard run pipeline.ts`, change a param with
 * `--param minAccuracy=0.95`, and test it with `npm test`.
 * Data: the Palmer penguins (344 birds, CC0), in data/penguins.csv.
 */
import { pipeline, z } from "trainyard";
import { ingestStep, profile, splitStep } from "trainyard/data";
import { deploy, evaluate, features, gates, register, train } from "trainyard/models";

const p = pipeline("penguins", {
  description: "penguin species from beak, flipper and body measurements",
  params: z.object({
    /** The candidate must reach this accuracy on the held-out birds to be deployed. */
    minAccuracy: z.number().min(0).max(1).default(0.9),
  }),
});

const raw = ingestStep(p, "ingest", { source: { path: `${import.meta.dirname}/data/penguins.csv` } });

const split = splitStep(p, "split", {
  input: raw,
  split: { method: "stratified", column: "species", testFraction: 0.25, seed: 1 },
});
const trainData = split.pick("train");
const testData = split.pick("test");

const fitted = features(p, "features", {
  train: trainData,
  spec: {
    transforms: [
      { kind: "impute", column: "beak_length_mm", strategy: "median" },
      { kind: "impute", column: "beak_depth_mm", strategy: "median" },
      { kind: "impute", column: "flipper_length_mm", strategy: "median" },
      { kind: "impute", column: "body_mass_g", strategy: "median" },
      { kind: "onehot", column: "island" },
    ],
  },
});

const model = train(p, "train", {
  train: trainData,
  features: fitted,
  label: "species",
  task: "multiclass",
  algorithm: { kind: "gbdt", numRounds: 50, maxDepth: 3, learningRate: 0.2 },
});

const evaluation = evaluate(p, "evaluate", { candidate: model, data: testData, latency: { samples: 100 } });
const checked = gates(p, "gates", {
  evaluation,
  params: ["minAccuracy"],
  gates: (params) => [{ kind: "metric", metric: "accuracy", min: params.minAccuracy, name: "accuracy floor" }],
});
const reference = profile(p, "profile", { data: trainData });
const registered = register(p, "register", {
  name: "penguins",
  model,
  gates: checked,
  evaluation,
  data: trainData,
  reference: reference.pick("profile"),
});
deploy(p, "deploy", { registered, alias: "production" });

export default p;
