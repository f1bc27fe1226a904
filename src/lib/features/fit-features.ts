/**
 * Fits a feature spec on training data in DuckDB: one aggregate query for every numeric
 * statistic (means, deviations, ranges, medians, quantile edges, null counts) and one
 * value-count query for the categorical transforms. Only the training rows are ever read, and
 * the result is plain JSON.
 */
import { DataError, translateDuckError } from "../data/data-error.js";
import { queryRows, toNumber, withConnection } from "../data/duck.js";
import { sqlIdent } from "../data/sql-text.js";
import type {
  FeatureSpec,
  FittedFeatures,
  FittedInput,
  FittedTransform,
  InputType,
  TransformSpec,
} from "./feature-spec.js";
import { NUMERIC_KINDS, STRING_KINDS } from "./feature-spec.js";
import { validateSpec } from "./validate-spec.js";
import { describeSource, inputRelation, planInputs, resolveSource, type DataSource } from "./input-relation.js";
import { finalOutputs, planChains, sqlOfFitted } from "./transform-chains.js";

export async function fitFeatures(source: DataSource, spec: FeatureSpec): Promise<FittedFeatures> {
  validateSpec(spec);
  const resolved = resolveSource(source);
  const file = resolved.file ?? resolved.label;
  const described = await describeSource(resolved);
  const chain = planChains(spec.transforms);
  const columns = [...new Set(spec.transforms.filter((_, j) => chain[j].from === undefined).map((t) => t.column))];
  const planned = planInputs(columns, described, spec.inputs, file);
  const typeOf = new Map(planned.map((i) => [i.name, i.type]));
  spec.transforms.forEach((t, j) => {
    if (chain[j].from === undefined) checkInputType(t, typeOf.get(t.column)!, file);
  });

  const aggregates = ["count(*) AS n"];
  planned.forEach((input, i) => {
    aggregates.push(`count(${sqlIdent(input.name)}) AS nn_${i}`);
    if (input.type === "number") aggregates.push(`count(*) FILTER (WHERE isinf(${sqlIdent(input.name)})) AS inf_${i}`);
  });
  const stringColumns = [...new Set(spec.transforms.filter((t) => STRING_KINDS.has(t.kind)).map((t) => t.column))];
  const countsSql = stringColumns
    .map(
      (c, k) =>
        `SELECT ${k} AS k, ${sqlIdent(c)} AS v, count(*) AS ` +
        `n FROM input WHERE ${sqlIdent(c)} IS NOT NULL GROUP BY ${sqlIdent(c)}`,
    )
    .join(" UNION ALL ");
  const withInput = `WITH input AS MATERIALIZED ${inputRelation(resolved.relation, planned)} `;

  // A chained transform's statistics are computed on its input's fitted values, so chains are
  // fitted level by level: one aggregate query per depth (usually one or two).
  const transforms: FittedTransform[] = new Array(spec.transforms.length);
  const inputExpr = (j: number): string => {
    const from = chain[j].from;
    return from === undefined
      ? numericExpr(spec.transforms[j].column, typeOf.get(spec.transforms[j].column)!)
      : sqlOfFitted(transforms[from], inputExpr(from));
  };
  let stats: Record<string, unknown> = {};
  let counts: Record<string, unknown>[] = [];
  const depths = Math.max(...chain.map((c) => c.depth));
  for (let depth = 0; depth <= depths; depth++) {
    const level = spec.transforms.map((t, j) => ({ t, j })).filter(({ j }) => chain[j].depth === depth);
    const parts = level.flatMap(({ t, j }) => statistics(t, j, inputExpr(j)));
    if (depth === 0) parts.unshift(...aggregates);
    if (parts.length) {
      const result = await withConnection(async (con) => {
        try {
          const [row] = await queryRows(con, `${withInput}SELECT ${parts.join(", ")} FROM input`);
          return { row, counts: depth === 0 && countsSql ? await queryRows(con, `${withInput}${countsSql}`) : [] };
        } catch (err) {
          throw translateDuckError(err, { file });
        }
      });
      stats = { ...stats, ...result.row };
      if (depth === 0) counts = result.counts;
    }
    if (depth === 0) checkRows(stats, planned, file);
    const valueCounts = new Map<string, { value: string; count: number }[]>(stringColumns.map((c) => [c, []]));
    for (const r of counts)
      valueCounts.get(stringColumns[Number(r.k)])!.push({ value: String(r.v), count: toNumber(r.n) ?? 0 });
    const rows = toNumber(stats.n) ?? 0;
    for (const { t, j } of level) {
      const fitted = fitOne(t, j, stats, valueCounts.get(t.column) ?? [], rows, file);
      transforms[j] = chain[j].from === undefined ? fitted : ({ ...fitted, chained: true } as FittedTransform);
    }
  }

  const rows = toNumber(stats.n) ?? 0;
  const inputs: FittedInput[] = planned.map((input, i) => {
    const imputed = spec.transforms.some((t, j) => t.kind === "impute" && chain[j].root === input.name);
    return { ...input, nullable: imputed || (toNumber(stats[`nn_${i}`]) ?? 0) < rows };
  });
  const outputs = finalOutputs(transforms, chain);
  return { version: 1, inputs, transforms, outputs, trainingRows: rows };
}

function checkRows(stats: Record<string, unknown>, planned: readonly { name: string }[], file: string): void {
  if ((toNumber(stats.n) ?? 0) === 0) {
    throw new DataError("EMPTY_DATASET", "Cannot fit features on zero training rows", {
      file,
      hint: "Check the split or the source's `where` filter.",
    });
  }
  planned.forEach((input, i) => {
    if ((toNumber(stats[`inf_${i}`]) ?? 0) > 0) {
      throw new DataError(
        "NON_FINITE_VALUE",
        `Feature input "${input.name}" holds Infinity in ${stats[`inf_${i}`]} training rows`,
        {
          file,
          column: input.name,
          hint: "Clean the values upstream (e.g. sqlTransform with CASE WHEN isinf(x) THEN NULL ...).",
        },
      );
    }
  });
}

function checkInputType(t: TransformSpec, type: InputType, file: string): void {
  const ok = STRING_KINDS.has(t.kind)
    ? type === "string"
    : t.kind === "datepart"
      ? type === "timestamp"
      : NUMERIC_KINDS.has(t.kind)
        ? type !== "string"
        : false;
  if (!ok) {
    const want = STRING_KINDS.has(t.kind)
      ? "a string"
      : t.kind === "datepart"
        ? "a timestamp"
        : "a number, boolean or timestamp";
    throw new DataError("COLUMN_TYPE", `Transform "${t.kind}" needs ${want} column, but "${t.column}" is a ${type}`, {
      file,
      column: t.column,
      hint:
        `Declare the input type ` +
        `in spec.inputs (e.g. { "${t.column}": "string" }) or pick a transform for ${type} columns.`,
    });
  }
}

/** NaN counts as missing, as `applyFeatures` treats it; timestamps and booleans aggregate as numbers. */
function numericExpr(name: string, type: InputType): string {
  const c = sqlIdent(name);
  if (type === "timestamp") return `CAST(epoch_ms(${c}) AS DOUBLE)`;
  if (type === "boolean") return `CAST(${c} AS DOUBLE)`;
  return `(CASE WHEN isnan(${c}) OR isinf(${c}) THEN NULL ELSE ${c} END)`;
}

function statistics(t: TransformSpec, j: number, x: string): string[] {
  switch (t.kind) {
    case "standardize":
      return [`avg(${x}) AS a_${j}`, `stddev_pop(${x}) AS b_${j}`];
    case "minmax":
      return [`min(${x}) AS a_${j}`, `max(${x}) AS b_${j}`];
    case "impute":
      if (t.strategy === "mean") return [`avg(${x}) AS a_${j}`];
      if (t.strategy === "median") return [`quantile_cont(${x}, 0.5) AS a_${j}`];
      // Ties go to the smallest value, so refitting the same data always picks the same fill.
      if (t.strategy === "most_frequent")
        return [
          `(SELECT v FROM (SELECT ${x} AS v FROM input) WHERE v IS NOT NULL GROUP ` +
            `BY v ORDER BY count(*) DESC, v LIMIT 1) AS a_${j}`,
        ];
      return [];
    case "bucketize": {
      if (t.edges) return [];
      // The inner cut points of `quantiles` equal-frequency buckets, printed exactly.
      const cuts = Array.from({ length: t.quantiles! - 1 }, (_, i) => ((i + 1) / t.quantiles!).toPrecision(17));
      return [`quantile_cont(${x}, [${cuts.join(", ")}]) AS a_${j}`];
    }
    default:
      return [];
  }
}

function stat(stats: Record<string, unknown>, key: string, t: TransformSpec, file: string): number {
  const v = toNumber(stats[key]);
  if (v === null || !Number.isFinite(v)) {
    throw new DataError(
      "EMPTY_DATASET",
      `Cannot fit "${t.kind}" on "${t.column}": the column has no values in the training rows`,
      {
        file,
        column: t.column,
        hint: "Every training value is missing; drop the transform or fix the data.",
      },
    );
  }
  return v;
}

const byCountThenValue = (a: { value: string; count: number }, b: { value: string; count: number }) =>
  b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
const byValue = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function fitOne(
  t: TransformSpec,
  j: number,
  stats: Record<string, unknown>,
  counts: { value: string; count: number }[],
  rows: number,
  file: string,
): FittedTransform {
  const column = t.column;
  const output = "name" in t && t.name ? t.name : column;
  switch (t.kind) {
    case "passthrough":
      return { kind: "passthrough", column, output };
    case "standardize":
      return {
        kind: "standardize",
        column,
        output,
        mean: stat(stats, `a_${j}`, t, file),
        std: stat(stats, `b_${j}`, t, file),
      };
    case "minmax":
      return {
        kind: "minmax",
        column,
        output,
        min: stat(stats, `a_${j}`, t, file),
        max: stat(stats, `b_${j}`, t, file),
        clip: t.clip ?? false,
      };
    case "impute": {
      const fill = t.strategy === "constant" ? t.value! : stat(stats, `a_${j}`, t, file);
      return {
        kind: "impute",
        column,
        output,
        strategy: t.strategy,
        fill,
        ...(t.indicator ? { indicator: `${output}_missing` } : {}),
      };
    }
    case "bucketize": {
      const edges = t.edges
        ? [...t.edges]
        : [
            ...new Set(
              ((stats[`a_${j}`] as unknown[]) ?? [])
                .map((v) => toNumber(v))
                .filter((v): v is number => v !== null && Number.isFinite(v)),
            ),
          ];
      if (!t.edges && edges.length === 0) {
        throw new DataError(
          "EMPTY_DATASET",
          `Cannot fit quantile buckets on "${column}": the column has no values in the training rows`,
          {
            file,
            column,
            hint: "Every training value is missing; give explicit `edges` or fix the data.",
          },
        );
      }
      return { kind: "bucketize", column, output, edges: edges.sort((a, b) => a - b) };
    }
    case "hash":
      return { kind: "hash", column, output, buckets: t.buckets, hash: "fnv1a-32" };
    case "datepart":
      return { kind: "datepart", column, parts: [...t.parts], outputs: t.parts.map((p) => `${column}_${p}`) };
    case "onehot": {
      const minCount = t.minCount ?? 1;
      const categories = counts
        .filter((c) => c.count >= minCount)
        .sort(byCountThenValue)
        .slice(0, t.topK ?? 10)
        .map((c) => c.value);
      return {
        kind: "onehot",
        column,
        categories,
        outputs: [...categories.map((c) => `${column}=${c}`), `${column}=__other__`],
        other: `${column}=__other__`,
      };
    }
    case "frequency": {
      const sorted = [...counts].sort((a, b) => byValue(a.value, b.value));
      return {
        kind: "frequency",
        column,
        output,
        categories: sorted.map((c) => c.value),
        frequencies: sorted.map((c) => c.count / rows),
      };
    }
    case "ordinal":
    case "label": {
      const categories = t.categories ? [...t.categories] : counts.map((c) => c.value).sort(byValue);
      return { kind: "ordinal", column, output, categories };
    }
  }
}
