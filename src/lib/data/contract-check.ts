/**
 * `checkContract` — every way a dataset breaks its contract, in two scans at most: one
 * aggregate query counts the violations of every rule at once; only if something is violated,
 * one more query fetches up to five offending rows per rule with their row numbers.
 */
import { isFloatingType, logicalTypeOf, typeSatisfies, type ColumnKind } from "./column-kind.js";
import { parseDuration, validateContract, type ColumnContract, type Contract } from "./contract.js";
import { translateDuckError } from "./data-error.js";
import { resolveSource, type DataSource } from "./data-source.js";
import { queryRows, toNumber, withConnection } from "./duck.js";
import { describeColumns, type SchemaColumn } from "./schema.js";
import { sqlIdent, sqlNumber, sqlString } from "./sql-text.js";

export interface ViolationExample {
  /** 1-based data row (header excluded). */
  row: number;
  value: string | null;
}

export interface Violation {
  column?: string;
  rule: string;
  expected: string;
  found: string;
  /** Offending rows (row-level rules), or null for table-level rules. */
  count: number | null;
  examples: ViolationExample[];
}

export interface ContractReport {
  kind: "trainyard.contract";
  version: 1;
  contract?: string;
  source: string;
  rowCount: number;
  passed: boolean;
  violations: Violation[];
}

interface RowRule {
  column: string;
  rule: string;
  expected: string;
  /** SQL predicate true for an offending row. */
  predicate: string;
  /** Value shown in examples. */
  show: string;
}

const CAST_TARGET: Record<string, string> = {
  integer: "BIGINT",
  float: "DOUBLE",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  timestamp: "TIMESTAMP",
  time: "TIME",
};

export async function checkContract(source: DataSource, contractInput: Contract): Promise<ContractReport> {
  const contract = validateContract(contractInput);
  const src = resolveSource(source);
  return withConnection(async (con) => {
    const schema = await describeColumns(con, src);
    const byName = new Map(schema.map((c) => [c.name, c]));
    const violations: Violation[] = [];
    const rowRules: RowRule[] = [];
    const aggregates: string[] = ["count(*) AS __rows"];
    const uniqueCols: { column: string; value: string }[] = [];
    const nullFractions: { column: string; max: number }[] = [];

    for (const [name, spec] of Object.entries(contract.columns)) {
      const actual = byName.get(name);
      if (!actual) {
        if (spec.required !== false)
          violations.push({
            column: name,
            rule: "required",
            expected: "column present",
            found: "missing",
            count: null,
            examples: [],
          });
        continue;
      }
      const value = planColumn(name, spec, actual, violations, rowRules, src.format === "parquet");
      if (spec.maxNullFraction !== undefined) {
        aggregates.push(`count(*) FILTER (WHERE ${sqlIdent(name)} IS NULL) AS __nulls_${nullFractions.length}`);
        nullFractions.push({ column: name, max: spec.maxNullFraction });
      }
      if (spec.unique) {
        aggregates.push(`count(${value}) - count(DISTINCT ${value}) AS __dup_${uniqueCols.length}`);
        uniqueCols.push({ column: name, value });
      }
    }
    if (contract.table?.allowExtraColumns === false) {
      for (const c of schema) {
        if (!(c.name in contract.columns))
          violations.push({
            column: c.name,
            rule: "extraColumn",
            expected: "no columns beyond the contract",
            found: `unexpected column ${c.name} (${c.type})`,
            count: null,
            examples: [],
          });
      }
    }
    const fresh = contract.table?.freshness;
    const freshCol = fresh ? byName.get(fresh.column) : undefined;
    if (fresh && !freshCol)
      violations.push({
        column: fresh.column,
        rule: "freshness",
        expected: "column present",
        found: "missing",
        count: null,
        examples: [],
      });
    if (freshCol) aggregates.push(`CAST(max(CAST(${sqlIdent(freshCol.name)} AS TIMESTAMP)) AS VARCHAR) AS __fresh`);
    rowRules.forEach((r, i) => aggregates.push(`count(*) FILTER (WHERE ${r.predicate}) AS __r${i}`));

    let agg: Record<string, unknown>;
    try {
      agg = (await queryRows(con, `SELECT ${aggregates.join(", ")} FROM ${src.relation}`))[0] ?? {};
    } catch (err) {
      throw translateDuckError(err, { file: src.file ?? src.label });
    }
    const rowCount = toNumber(agg.__rows) ?? 0;
    const t = contract.table;
    if (t?.minRows !== undefined && rowCount < t.minRows)
      violations.push({
        rule: "minRows",
        expected: `>= ${t.minRows} rows`,
        found: `${rowCount} rows`,
        count: null,
        examples: [],
      });
    if (t?.maxRows !== undefined && rowCount > t.maxRows)
      violations.push({
        rule: "maxRows",
        expected: `<= ${t.maxRows} rows`,
        found: `${rowCount} rows`,
        count: null,
        examples: [],
      });
    if (fresh && freshCol) {
      const newest = agg.__fresh as string | null;
      const now = fresh.now ? Date.parse(fresh.now) : Date.now();
      const maxAge = parseDuration(fresh.maxAge);
      const newestMs = newest
        ? Date.parse(newest.replace(" ", "T") + (/[zZ]|[+-]\d\d:?\d\d$/.test(newest) ? "" : "Z"))
        : NaN;
      if (!(now - newestMs <= maxAge)) {
        violations.push({
          column: fresh.column,
          rule: "freshness",
          expected: `newest value within ${fresh.maxAge} of ${new Date(now).toISOString()}`,
          found: newest ? `newest ${newest}` : "no values",
          count: null,
          examples: [],
        });
      }
    }
    nullFractions.forEach((n, i) => {
      const nulls = toNumber(agg[`__nulls_${i}`]) ?? 0;
      const frac = rowCount ? nulls / rowCount : 0;
      if (frac > n.max)
        violations.push({
          column: n.column,
          rule: "maxNullFraction",
          expected: `<= ${n.max}`,
          found: `${frac.toFixed(4)} (${nulls} of ${rowCount} rows)`,
          count: nulls,
          examples: [],
        });
    });

    const failing = rowRules.map((r, i) => ({ r, count: toNumber(agg[`__r${i}`]) ?? 0 })).filter((x) => x.count > 0);
    const dupes = uniqueCols.map((u, i) => ({ u, count: toNumber(agg[`__dup_${i}`]) ?? 0 })).filter((x) => x.count > 0);
    const examples = await fetchExamples(
      con,
      src.numberedRelation,
      src.relation,
      failing.map((f) => f.r),
      dupes.map((d) => d.u),
    );
    failing.forEach((f, i) =>
      violations.push({
        column: f.r.column,
        rule: f.r.rule,
        expected: f.r.expected,
        found: `${f.count} row(s)`,
        count: f.count,
        examples: examples.get(`r${i}`) ?? [],
      }),
    );
    dupes.forEach((d, i) =>
      violations.push({
        column: d.u.column,
        rule: "unique",
        expected: "no repeated values",
        found: `${d.count} repeated value(s)`,
        count: d.count,
        examples: examples.get(`u${i}`) ?? [],
      }),
    );

    return {
      kind: "trainyard.contract",
      version: 1,
      contract: contract.name,
      source: src.label,
      rowCount,
      passed: violations.length === 0,
      violations,
    };
  });
}

/** Adds row rules for one column and returns the SQL for its (possibly re-typed) value. */
function planColumn(
  name: string,
  spec: ColumnContract,
  actual: SchemaColumn,
  violations: Violation[],
  rules: RowRule[],
  typedStorage = false,
): string {
  const raw = sqlIdent(name);
  let value = raw;
  let kind: ColumnKind = actual.kind;
  if (spec.type && !typeSatisfies(actual.type, spec.type)) {
    const target = CAST_TARGET[spec.type] ?? (logicalTypeOf(spec.type) ? undefined : spec.type);
    if (actual.type === "VARCHAR" && target && typedStorage) {
      // A typed file (Parquet) that stores the column as text was retyped upstream: that is a
      // violation by itself; the values are still cast so the other rules report on them.
      violations.push({
        column: name,
        rule: "type",
        expected: spec.type,
        found: actual.type,
        count: null,
        examples: [],
      });
      value = `TRY_CAST(${raw} AS ${target})`;
      kind =
        spec.type === "string"
          ? "categorical"
          : ["date", "timestamp", "time"].includes(spec.type)
            ? "temporal"
            : "numeric";
    } else if (actual.type === "VARCHAR" && target) {
      // Text that should be typed (a mixed-type CSV column): each unparsable value is an offending row.
      rules.push({
        column: name,
        rule: "type",
        expected: `${spec.type} values`,
        predicate: `${raw} IS NOT NULL AND TRY_CAST(${raw} AS ${target}) IS NULL`,
        show: raw,
      });
      value = `TRY_CAST(${raw} AS ${target})`;
      kind =
        spec.type === "string"
          ? "categorical"
          : ["date", "timestamp", "time"].includes(spec.type)
            ? "temporal"
            : "numeric";
    } else {
      violations.push({
        column: name,
        rule: "type",
        expected: spec.type,
        found: actual.type,
        count: null,
        examples: [],
      });
    }
  }
  const show = `CAST(${raw} AS VARCHAR)`;
  if (spec.nullable === false)
    rules.push({ column: name, rule: "nullable", expected: "no nulls", predicate: `${raw} IS NULL`, show });
  const bound = (b: number | string) =>
    typeof b === "number"
      ? sqlNumber(b)
      : kind === "temporal"
        ? `CAST(${sqlString(b)} AS ${temporalType(actual.type)})`
        : sqlString(b);
  const numericValue = kind === "numeric" ? `CAST(${value} AS DOUBLE)` : value;
  if (spec.min !== undefined)
    rules.push({
      column: name,
      rule: "min",
      expected: `>= ${spec.min}`,
      predicate: `${numericValue} < ${bound(spec.min)}`,
      show,
    });
  if (spec.max !== undefined)
    rules.push({
      column: name,
      rule: "max",
      expected: `<= ${spec.max}`,
      predicate: `${numericValue} > ${bound(spec.max)}`,
      show,
    });
  if (spec.allowedValues) {
    const numeric = kind === "numeric" && spec.allowedValues.every((v) => typeof v === "number");
    const list = numeric
      ? spec.allowedValues.map((v) => sqlNumber(v as number)).join(", ")
      : spec.allowedValues.map((v) => sqlString(String(v))).join(", ");
    const lhs = numeric ? numericValue : `CAST(${value} AS VARCHAR)`;
    rules.push({
      column: name,
      rule: "allowedValues",
      expected: `one of ${spec.allowedValues.slice(0, 10).join(", ")}${spec.allowedValues.length > 10 ? ", ..." : ""}`,
      predicate: list ? `${value} IS NOT NULL AND ${lhs} NOT IN (${list})` : `${value} IS NOT NULL`,
      show,
    });
  }
  if (spec.pattern !== undefined) {
    rules.push({
      column: name,
      rule: "pattern",
      expected: `matches /${spec.pattern}/`,
      predicate: `${raw} IS NOT NULL AND NOT regexp_full_match(CAST(${raw} AS VARCHAR), ${sqlString(spec.pattern)})`,
      show,
    });
  }
  const finite = spec.finite ?? (kind === "numeric" && isFloatingType(actual.type));
  if (finite && kind === "numeric")
    rules.push({
      column: name,
      rule: "finite",
      expected: "finite numbers",
      predicate: `${numericValue} IS NOT NULL AND NOT isfinite(${numericValue})`,
      show,
    });
  return value;
}

function temporalType(duckType: string): string {
  return duckType.startsWith("DATE")
    ? "DATE"
    : duckType.startsWith("TIME ") || duckType === "TIME"
      ? "TIME"
      : "TIMESTAMP";
}

async function fetchExamples(
  con: Parameters<Parameters<typeof withConnection>[0]>[0],
  numbered: string,
  relation: string,
  rules: RowRule[],
  uniques: { column: string; value: string }[],
): Promise<Map<string, ViolationExample[]>> {
  const out = new Map<string, ViolationExample[]>();
  if (rules.length === 0 && uniques.length === 0) return out;
  const parts = [
    ...rules.map(
      (r, i) =>
        `(SELECT 'r${i}' AS k, __row, CAST(${r.show} AS VARCHAR) ` +
        `AS v FROM ${numbered} WHERE ${r.predicate} ORDER BY __row LIMIT 5)`,
    ),
    ...uniques.map(
      (u, i) =>
        `(SELECT 'u${i}' AS k, __row, CAST(${sqlIdent(u.column)} AS VARCHAR) AS v FROM ${numbered}
        WHERE ${u.value} IN (SELECT ${u.value} FROM ${relation} WHERE ${u.value} IS NOT NULL GROUP BY ALL HAVING ` +
        `count(*) > 1) ORDER BY __row LIMIT 5)`,
    ),
  ];
  const rows = await queryRows(con, `SELECT * FROM (${parts.join(" UNION ALL ")}) ORDER BY k, __row`);
  for (const r of rows) {
    const k = String(r.k);
    const list = out.get(k) ?? [];
    list.push({ row: toNumber(r.__row) ?? 0, value: r.v === null ? null : String(r.v) });
    out.set(k, list);
  }
  return out;
}
