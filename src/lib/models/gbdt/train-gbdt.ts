import {
  alignToSignature,
  checkMatrix,
  checkNotAllConstant,
  numericSignature,
  type FeatureMatrix,
} from "../feature-matrix.js";
import { checkBinaryLabels, checkLabels, countClasses } from "../labels.js";
import { seededRandom, type Random } from "../random.js";
import { GbdtModel, taskOf, type TrainingHistory } from "./gbdt-model.js";
import { compileGbdtOptions, type CompiledGbdtOptions, type GbdtOptions } from "./gbdt-options.js";
import { binFeatures } from "./quantile-cuts.js";
import { RowExecutor } from "./row-executor.js";
import { growTree } from "./tree-grower.js";
import { addTrees, buildEnsemble, type TreeNodes } from "./tree-ensemble.js";

/**
 * Trains histogram gradient-boosted trees (XGBoost `tree_method="hist"` semantics: quantile bins,
 * depth-wise growth, second-order gain with lambda/gamma/min_child_weight, learned missing
 * direction). Deterministic for a given seed and thread count.
 */
export function trainGbdt(x: FeatureMatrix, label: ArrayLike<number>, options: GbdtOptions = {}): GbdtModel {
  checkMatrix(x);
  const o = compileGbdtOptions(options, x.rows);
  checkLabels(label, x.rows, x.columns.length);
  const task = taskOf(o.objective);
  if (task === "binary") checkBinaryLabels(label);
  const numClasses = task === "multiclass" ? countClasses(label, o.numClasses) : 1;
  checkNotAllConstant(x.columns, x.names);
  if (o.validation) checkLabels(o.validation.label, o.validation.features.rows, o.validation.features.columns.length);

  const threads = Math.min(o.threads, Math.max(1, Math.floor(x.rows / 10_000)));
  const binned = binFeatures(x.columns, x.rows, {
    maxBin: o.maxBin,
    seed: o.seed,
    allocate: threads > 1 ? (n) => new SharedArrayBuffer(n) : undefined,
  });
  const maxNodes = o.maxLeaves > 0 ? Math.min(2 * o.maxLeaves, 2 ** (o.maxDepth + 1)) : 2 ** (o.maxDepth + 1);
  const exec = new RowExecutor(
    {
      rows: x.rows,
      nFeatures: binned.features,
      maxBin: o.maxBin,
      outputs: numClasses,
      maxNodes,
      maxSlots: maxNodes >> 2,
    },
    binned.bins,
    threads,
  );
  try {
    return boost(exec, binned, x, label, o, numClasses);
  } finally {
    exec.close();
  }
}

function boost(
  exec: RowExecutor,
  binned: ReturnType<typeof binFeatures>,
  x: FeatureMatrix,
  label: ArrayLike<number>,
  o: CompiledGbdtOptions,
  numClasses: number,
): GbdtModel {
  const rows = x.rows;
  for (let i = 0; i < rows; i++) exec.label[i] = label[i];
  const baseMargin = initialMargins(o, exec.label, numClasses);
  for (let k = 0; k < numClasses; k++) exec.pred.fill(baseMargin[k], k * rows, (k + 1) * rows);

  const random = seededRandom(o.seed);
  const grow = { ...o, maxLeaves: o.maxLeaves };
  const signature = numericSignature(x.names, o.categorical);
  const trees: TreeNodes[] = [];
  const validation = o.validation
    ? new ValidationTracker(
        o,
        signature.features.map((f) => f.name),
        baseMargin,
        numClasses,
      )
    : null;

  for (let round = 0; round < o.numRounds; round++) {
    const useMask = o.subsample < 1;
    if (useMask) for (let i = 0; i < rows; i++) exec.mask[i] = random.next() < o.subsample ? 1 : 0;
    if (numClasses === 1) {
      exec.gradientsAndRoot(o.objective === "binary:logistic" ? 0 : 1, round > 0, useMask);
      trees.push(growTree(exec, binned, 0, featureMask(binned.features, o.colsampleByTree, random), grow));
    } else {
      exec.softmaxGradients(useMask);
      for (let k = 0; k < numClasses; k++) {
        exec.rootHistogram(k);
        trees.push(growTree(exec, binned, k, featureMask(binned.features, o.colsampleByTree, random), grow));
        exec.applyLeaves(k);
      }
    }
    if (validation?.addRound(trees.slice(-numClasses), round, o.earlyStoppingRounds)) break;
  }
  const kept = validation ? trees.slice(0, (validation.bestRound + 1) * numClasses) : trees;
  const ensemble = buildEnsemble(kept, numClasses, baseMargin, false);
  return new GbdtModel(o.objective, numClasses, signature, ensemble, validation?.history());
}

/** Starting margins from the label distribution, so early trees fit signal rather than the mean. */
function initialMargins(o: CompiledGbdtOptions, label: Float64Array, numClasses: number): number[] {
  if (numClasses > 1) {
    const counts = new Float64Array(numClasses);
    for (let i = 0; i < label.length; i++) counts[label[i]]++;
    return Array.from(counts, (c) => Math.log(Math.max(c, 1) / label.length));
  }
  let mean = 0;
  for (let i = 0; i < label.length; i++) mean += label[i];
  mean /= label.length;
  if (o.objective === "reg:squarederror") return [mean];
  const p = Math.min(Math.max(mean, 1e-6), 1 - 1e-6);
  return [Math.log(p / (1 - p))];
}

/** Per-tree column subsample (XGBoost colsample_bytree); always keeps at least one feature. */
function featureMask(features: number, fraction: number, random: Random): Uint8Array {
  const mask = new Uint8Array(features).fill(1);
  if (fraction >= 1) return mask;
  const keep = Math.max(1, Math.round(features * fraction));
  const order = Array.from({ length: features }, (_, i) => i);
  for (let i = features - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  mask.fill(0);
  for (let i = 0; i < keep; i++) mask[order[i]] = 1;
  return mask;
}

/** Scores the validation rows incrementally after each round and decides on early stopping. */
class ValidationTracker {
  private readonly columns: Float64Array[];
  private readonly label: ArrayLike<number>;
  private readonly rows: number;
  private readonly margin: Float64Array;
  private readonly losses: number[] = [];
  bestRound = 0;

  constructor(
    private readonly o: CompiledGbdtOptions,
    names: string[],
    private readonly base: number[],
    private readonly k: number,
  ) {
    const v = o.validation!;
    this.columns = alignToSignature(v.features, { features: names.map((name) => ({ name, type: "numeric" })) });
    this.label = v.label;
    this.rows = v.features.rows;
    this.margin = new Float64Array(this.rows * k);
    for (let c = 0; c < k; c++) this.margin.fill(base[c], c * this.rows, (c + 1) * this.rows);
  }

  /** Returns true when training should stop. */
  addRound(trees: TreeNodes[], round: number, patience: number | undefined): boolean {
    const e = buildEnsemble(trees, this.k, this.base, false);
    addTrees(e, this.columns, this.rows, 0, trees.length, this.margin);
    const loss = this.loss();
    this.losses.push(loss);
    if (loss < this.losses[this.bestRound] || round === 0) this.bestRound = round;
    if (patience === undefined) {
      this.bestRound = round;
      return false;
    }
    return round - this.bestRound >= patience;
  }

  history(): TrainingHistory {
    return { metric: this.metric(), validation: this.losses, bestRound: this.bestRound };
  }

  private metric(): string {
    return this.o.objective === "binary:logistic"
      ? "logloss"
      : this.o.objective === "multi:softprob"
        ? "mlogloss"
        : "rmse";
  }

  private loss(): number {
    const { margin, label, rows, k } = this;
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const y = label[r];
      if (this.o.objective === "reg:squarederror") sum += (margin[r] - y) ** 2;
      else if (k === 1) {
        const p = Math.min(Math.max(1 / (1 + Math.exp(-margin[r])), 1e-15), 1 - 1e-15);
        sum -= y === 1 ? Math.log(p) : Math.log(1 - p);
      } else {
        let max = -Infinity;
        for (let c = 0; c < k; c++) max = Math.max(max, margin[c * rows + r]);
        let z = 0;
        for (let c = 0; c < k; c++) z += Math.exp(margin[c * rows + r] - max);
        sum -= margin[y * rows + r] - max - Math.log(z);
      }
    }
    return this.o.objective === "reg:squarederror" ? Math.sqrt(sum / rows) : sum / rows;
  }
}
