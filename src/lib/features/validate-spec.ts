/**
 * Checks a feature spec before any data is read, so a typo in a transform fails in
 * milliseconds with the transform's position rather than after a scan of the training data.
 */
import { DataError } from "../data/data-error.js";
import { DATE_PARTS, type FeatureSpec, type TransformSpec } from "./feature-spec.js";

const KINDS = new Set([
  "passthrough",
  "standardize",
  "minmax",
  "impute",
  "onehot",
  "frequency",
  "ordinal",
  "label",
  "bucketize",
  "hash",
  "datepart",
]);
const STRATEGIES = new Set(["mean", "median", "constant", "most_frequent"]);
const INPUT_TYPES = new Set(["number", "string", "timestamp", "boolean"]);

export function validateSpec(spec: FeatureSpec): void {
  if (typeof spec !== "object" || spec === null || !Array.isArray(spec.transforms) || spec.transforms.length === 0) {
    throw invalid(
      "A feature spec needs a non-empty `transforms` array",
      undefined,
      'Pass { transforms: [{ kind: "passthrough", column: "x" }, ...] }.',
    );
  }
  for (const [name, type] of Object.entries(spec.inputs ?? {})) {
    if (!INPUT_TYPES.has(type))
      invalidAt(`inputs.${name}`, `unknown input type "${type}"`, name, "Use number, string, timestamp or boolean.");
  }
  spec.transforms.forEach((t, i) => validateTransform(t, i));
}

function validateTransform(t: TransformSpec, i: number): void {
  const at = `transforms[${i}]`;
  if (typeof t !== "object" || t === null || !KINDS.has((t as { kind?: string }).kind ?? "")) {
    invalidAt(
      at,
      `unknown transform kind ${JSON.stringify((t as { kind?: unknown })?.kind)}`,
      undefined,
      `Use one of ${[...KINDS].join(", ")}.`,
    );
  }
  if (typeof t.column !== "string" || t.column === "")
    invalidAt(at, "`column` must be a non-empty string", undefined, "Name the input column the transform reads.");
  const col = t.column;
  switch (t.kind) {
    case "impute":
      if (!STRATEGIES.has(t.strategy))
        invalidAt(at, `unknown impute strategy "${t.strategy}"`, col, "Use mean, median, constant or most_frequent.");
      if (t.strategy === "constant" && !Number.isFinite(t.value))
        invalidAt(at, 'strategy "constant" needs a finite `value`', col, "Add value: 0 (or another number).");
      break;
    case "onehot":
      if (t.topK !== undefined && !(Number.isInteger(t.topK) && t.topK >= 1))
        invalidAt(at, "`topK` must be a positive integer", col, "e.g. topK: 20.");
      if (t.minCount !== undefined && !(Number.isInteger(t.minCount) && t.minCount >= 1))
        invalidAt(at, "`minCount` must be a positive integer", col, "e.g. minCount: 5.");
      break;
    case "bucketize":
      if (t.edges !== undefined) {
        if (
          !Array.isArray(t.edges) ||
          t.edges.length === 0 ||
          t.edges.some((e, k) => !Number.isFinite(e) || (k > 0 && e <= t.edges![k - 1]))
        ) {
          invalidAt(
            at,
            "`edges` must be a non-empty, strictly increasing list of finite numbers",
            col,
            "e.g. edges: [0, 100, 500].",
          );
        }
      } else if (!(Number.isInteger(t.quantiles) && t.quantiles! >= 2)) {
        invalidAt(at, "bucketize needs `edges` or an integer `quantiles` >= 2", col, "e.g. quantiles: 10 for deciles.");
      }
      break;
    case "hash":
      if (!(Number.isInteger(t.buckets) && t.buckets >= 1 && t.buckets <= 2 ** 31))
        invalidAt(at, "`buckets` must be a positive integer", col, "e.g. buckets: 1024.");
      break;
    case "datepart":
      if (!Array.isArray(t.parts) || t.parts.length === 0 || t.parts.some((p) => !DATE_PARTS.includes(p))) {
        invalidAt(at, "`parts` must list date parts", col, `Use some of ${DATE_PARTS.join(", ")}.`);
      }
      break;
    case "ordinal":
    case "label":
      if (
        t.categories !== undefined &&
        (!Array.isArray(t.categories) ||
          t.categories.some((c) => typeof c !== "string") ||
          new Set(t.categories).size !== t.categories.length)
      ) {
        invalidAt(
          at,
          "`categories` must be distinct strings",
          col,
          "List each category once, in the order that gives its code.",
        );
      }
      break;
    default:
      break;
  }
}

function invalid(message: string, column: string | undefined, hint: string): DataError {
  return new DataError("INVALID_OPTION", message, { column, hint });
}

function invalidAt(at: string, message: string, column: string | undefined, hint: string): never {
  throw invalid(`Feature spec ${at}: ${message}`, column, hint);
}
