/**
 * Drift thresholds: which statistic breaches at which value, and whether a breach warns or
 * fails. Users write a partial `DriftConfig`; `compileDriftConfig` fills defaults and
 * `judge` turns one measured value into an outcome with its verdict.
 */
export type Verdict = "pass" | "warn" | "fail";
export type Action = "warn" | "fail";

export type DriftStatistic =
  | "psi"
  | "ksStatistic"
  | "ksPValue"
  | "jsDistance"
  | "wasserstein"
  | "lInfinity"
  | "chiSquarePValue"
  | "newCategoryRate"
  | "missingRateChange";

/** Statistics where small values are bad (p-values); all others breach when large. */
const LOWER_IS_WORSE: ReadonlySet<DriftStatistic> = new Set(["ksPValue", "chiSquarePValue"]);

export interface StatRule {
  threshold: number;
  /** @default the config's `action` */
  action?: Action;
}

/** A number is a threshold with the default action; null turns the verdict off (value still reported). */
export type StatSetting = number | StatRule | null;
export type StatSettings = Partial<Record<DriftStatistic, StatSetting>>;

export interface DriftConfig {
  /** Rules for every column; merged over the built-in defaults. */
  defaults?: StatSettings;
  /** Per-column rules, merged over `defaults`; `skip: true` leaves a column out. */
  columns?: Record<string, StatSettings & { skip?: boolean }>;
  /** Action for rules given as bare numbers. @default "fail" */
  action?: Action;
  /** Verdicts for schema changes; null ignores that kind of change. @default removed/retyped fail, added warn */
  schema?: { added?: Action | null; removed?: Action | null; retyped?: Action | null };
  /** Equal-width bins over the reference's range when no edges are given. @default 20 */
  bins?: number;
  /** Fixed histogram edges per numeric column. */
  edges?: Record<string, number[]>;
  /** NaN/Infinity in a numeric column: throw a DataError, or drop those values. @default "error" */
  nonFinite?: "error" | "drop";
  /** Only compare these columns. @default every column present on both sides */
  include?: string[];
}

export const DEFAULT_RULES: Required<Record<DriftStatistic, StatRule | null>> = {
  psi: { threshold: 0.25, action: "fail" },
  ksStatistic: { threshold: 0.1, action: "warn" },
  ksPValue: null,
  jsDistance: { threshold: 0.1, action: "warn" },
  wasserstein: null,
  lInfinity: { threshold: 0.1, action: "warn" },
  chiSquarePValue: null,
  newCategoryRate: { threshold: 0.05, action: "warn" },
  missingRateChange: { threshold: 0.05, action: "fail" },
};

export interface CompiledDriftConfig {
  action: Action;
  schema: { added: Action | null; removed: Action | null; retyped: Action | null };
  bins: number;
  edges: Record<string, number[]>;
  nonFinite: "error" | "drop";
  include?: string[];
  skip: Set<string>;
  rulesFor(column: string): Record<DriftStatistic, StatRule | null>;
}

export function compileDriftConfig(config: DriftConfig = {}): CompiledDriftConfig {
  const action = config.action ?? "fail";
  const norm = (s: StatSetting | undefined): StatRule | null | undefined => {
    if (s === undefined) return undefined;
    if (s === null) return null;
    if (typeof s === "number") return { threshold: s, action };
    return { threshold: s.threshold, action: s.action ?? action };
  };
  const merge = (base: Record<DriftStatistic, StatRule | null>, over: StatSettings | undefined) => {
    const out = { ...base };
    for (const [k, v] of Object.entries(over ?? {})) {
      if (k === "skip") continue;
      const r = norm(v as StatSetting);
      if (r !== undefined) out[k as DriftStatistic] = r;
    }
    return out;
  };
  const defaults = merge({ ...DEFAULT_RULES }, config.defaults);
  const skip = new Set(
    Object.entries(config.columns ?? {})
      .filter(([, v]) => v.skip)
      .map(([k]) => k),
  );
  return {
    action,
    schema: { added: "warn", removed: "fail", retyped: "fail", ...config.schema },
    bins: config.bins ?? 20,
    edges: config.edges ?? {},
    nonFinite: config.nonFinite ?? "error",
    include: config.include,
    skip,
    rulesFor: (column) => merge(defaults, config.columns?.[column]),
  };
}

export interface StatOutcome {
  value: number | null;
  threshold: number | null;
  /** "above": breach when value > threshold; "below": breach when value < threshold. */
  breachWhen: "above" | "below";
  action: Action | null;
  verdict: Verdict;
}

export function judge(stat: DriftStatistic, value: number | null, rule: StatRule | null): StatOutcome {
  const breachWhen = LOWER_IS_WORSE.has(stat) ? "below" : "above";
  if (!rule || value === null || Number.isNaN(value)) {
    return { value, threshold: rule?.threshold ?? null, breachWhen, action: rule?.action ?? null, verdict: "pass" };
  }
  const v = stat === "missingRateChange" ? Math.abs(value) : value;
  const breached = breachWhen === "above" ? v > rule.threshold : v < rule.threshold;
  const action = rule.action ?? "fail";
  return { value, threshold: rule.threshold, breachWhen, action, verdict: breached ? action : "pass" };
}

export function worst(verdicts: Iterable<Verdict>): Verdict {
  let out: Verdict = "pass";
  for (const v of verdicts) {
    if (v === "fail") return "fail";
    if (v === "warn") out = "warn";
  }
  return out;
}
