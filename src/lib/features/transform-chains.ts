/**
 * Chains of transforms on one column (impute -> standardize -> bucketize), as a scikit-learn
 * Pipeline applies them: a numeric transform without a `name` of its own reads, and replaces,
 * the feature an earlier transform produced under its column's name (two such transforms were
 * an error before, so no existing spec changes meaning). Fitting needs each link's SQL (its statistics are computed
 * on the values the previous link produces); applying needs only `chained` on the fitted form.
 */
import { DataError } from "../data/data-error.js";
import { NUMERIC_KINDS, type FittedTransform, type OutputType, type TransformSpec } from "./feature-spec.js";

export interface ChainLink {
  /** Index of the transform whose feature this one reads; undefined for the raw column. */
  from?: number;
  /** 0 for a transform on a raw column, 1 + its input's depth otherwise. */
  depth: number;
  /** The raw input column at the start of the chain. */
  root: string;
}

/** Kinds whose output a later transform can read (each has SQL in `sqlOfFitted`). */
const CHAINABLE = new Set(["passthrough", "standardize", "minmax", "impute", "bucketize"]);

/** Which earlier feature each transform reads, checking that the link can be fitted. */
export function planChains(transforms: readonly TransformSpec[]): ChainLink[] {
  // feature name -> the transform that produced it last (an indicator or date part: not chainable)
  const producedBy = new Map<string, { index: number; chainable: boolean }>();
  const links: ChainLink[] = [];
  transforms.forEach((t, j) => {
    // Only a transform that keeps the column's name chains; one with its own `name` reads the raw column.
    const producer = NUMERIC_KINDS.has(t.kind) && outputName(t) === t.column ? producedBy.get(t.column) : undefined;
    if (producer && !producer.chainable) {
      const kind = transforms[producer.index].kind;
      throw new DataError(
        "INVALID_OPTION",
        `Feature spec transforms[${j}] (${t.kind}) reads "${t.column}", ` +
          `a feature of transforms[${producer.index}] (${kind}), which cannot be chained`,
        {
          column: t.column,
          hint:
            "Only passthrough, standardize, minmax, impute and bucketize outputs chain; " +
            `give transforms[${producer.index}] another \`name\`, ` +
            `or move transforms[${j}] before it to read the raw column.`,
        },
      );
    }
    links.push(
      producer
        ? { from: producer.index, depth: links[producer.index].depth + 1, root: links[producer.index].root }
        : { depth: 0, root: t.column },
    );
    for (const name of bindableNames(t))
      producedBy.set(name, { index: j, chainable: CHAINABLE.has(t.kind) && name === outputName(t) });
  });
  return links;
}

function outputName(t: TransformSpec): string {
  return "name" in t && t.name ? t.name : t.column;
}

/** Output names known before fitting (one-hot names depend on the fitted categories). */
function bindableNames(t: TransformSpec): string[] {
  if (t.kind === "onehot") return [];
  if (t.kind === "datepart") return t.parts.map((p) => `${t.column}_${p}`);
  if (t.kind === "impute" && t.indicator) return [outputName(t), `${outputName(t)}_missing`];
  return [outputName(t)];
}

const num = (x: number) => `'${String(x)}'::DOUBLE`;

/** SQL computing a fitted transform's feature from `input` (its input's SQL), NULL for missing. */
export function sqlOfFitted(t: FittedTransform, input: string): string {
  switch (t.kind) {
    case "passthrough":
      return input;
    case "standardize":
      return `((${input}) - ${num(t.mean)}) / ${num(t.std > 0 ? t.std : 1)}`;
    case "minmax": {
      const range = t.max - t.min;
      const scaled = range > 0 ? `((${input}) - ${num(t.min)}) / ${num(range)}` : `((${input}) - (${input}))`;
      return t.clip ? `greatest(0.0, least(1.0, ${scaled}))` : scaled;
    }
    case "impute":
      return `coalesce(${input}, ${num(t.fill)})`;
    case "bucketize": {
      const count = t.edges.map((e) => `CAST((${input}) >= ${num(e)} AS INTEGER)`).join(" + ") || "0";
      return `(CASE WHEN (${input}) IS NULL THEN NULL ELSE ${count} END)`;
    }
    default:
      throw new DataError("INVALID_OPTION", `a ${t.kind} feature cannot be chained`, {
        column: t.column,
        hint: "chain only numeric transforms",
      });
  }
}

function outputsOf(t: FittedTransform): { name: string; type: OutputType }[] {
  switch (t.kind) {
    case "onehot":
    case "datepart":
      return t.outputs.map((name) => ({ name, type: "numeric" as const }));
    case "ordinal":
    case "hash":
      return [{ name: t.output, type: "categorical" }];
    case "impute":
      return t.indicator
        ? [
            { name: t.output, type: "numeric" },
            { name: t.indicator, type: "numeric" },
          ]
        : [{ name: t.output, type: "numeric" }];
    default:
      return [{ name: t.output, type: "numeric" }];
  }
}

/**
 * The model's features in transform order: a chained transform that keeps its input's name
 * replaces that feature; any other repeated name is an error.
 */
export function finalOutputs(
  transforms: readonly FittedTransform[],
  links: readonly ChainLink[],
): { name: string; type: OutputType }[] {
  const outputs: { name: string; type: OutputType; by: number }[] = [];
  transforms.forEach((t, j) => {
    for (const o of outputsOf(t)) {
      const at = outputs.findIndex((e) => e.name === o.name);
      if (at >= 0) {
        if (links[j].from !== outputs[at].by || t.column !== o.name) {
          throw new DataError("INVALID_OPTION", `Two transforms produce a feature named "${o.name}"`, {
            column: o.name,
            hint: "Give one of them a distinct `name` (a numeric transform on the same column chains onto it instead).",
          });
        }
        outputs.splice(at, 1);
      }
      outputs.push({ ...o, by: j });
    }
  });
  return outputs.map(({ name, type }) => ({ name, type }));
}
