/**
 * Decides gate verdicts from the evidence an evaluation step gathered. Pure: numbers in,
 * verdicts out, so a gate's decision is reproducible from the recorded evidence alone.
 */
import { defaultDirection, gateName, type GateSpec, type GateVerdict } from "./gate-spec.js";

export interface GateEvidence {
  candidate: { metrics: Record<string, number> };
  /** Absent for the very first model: relative gates then record "no baseline". */
  production?: { metrics: Record<string, number>; version?: number };
  /** Paired bootstrap intervals of (candidate - production) per metric. */
  bootstrap?: Record<string, { low: number; high: number; mean: number; confidence: number; samples: number }>;
  /** Per-group rates for fairness gates, keyed by `${metric}:${column}`. */
  fairness?: Record<string, { groups: Record<string, { rate: number; count: number }>; gap: number }>;
  latency?: { p50Ms: number; p99Ms: number; samples: number };
  sizeBytes?: number;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3));

export function evaluateGates(specs: readonly GateSpec[], ev: GateEvidence): GateVerdict[] {
  return specs.map((spec) => decide(spec, ev));
}

function decide(spec: GateSpec, ev: GateEvidence): GateVerdict {
  const gate = gateName(spec);
  const v = (status: GateVerdict["status"], message: string, evidence: Record<string, unknown>): GateVerdict => ({
    gate,
    kind: spec.kind,
    status,
    message,
    evidence,
  });
  switch (spec.kind) {
    case "metric": {
      const value = ev.candidate.metrics[spec.metric];
      if (value === undefined) return v("fail", `metric "${spec.metric}" was not computed`, {});
      const low = spec.min !== undefined && value < spec.min;
      const high = spec.max !== undefined && value > spec.max;
      if (low)
        return v("fail", `${spec.metric} ${fmt(value)} is below the floor ${spec.min} by ${fmt(spec.min! - value)}`, {
          value,
          min: spec.min,
        });
      if (high)
        return v("fail", `${spec.metric} ${fmt(value)} is above the ceiling ${spec.max} by ${fmt(value - spec.max!)}`, {
          value,
          max: spec.max,
        });
      return v("pass", `${spec.metric} ${fmt(value)} is within bounds`, { value, min: spec.min, max: spec.max });
    }
    case "relative": {
      const cand = ev.candidate.metrics[spec.metric];
      const prod = ev.production?.metrics[spec.metric];
      if (prod === undefined)
        return v("no-baseline", `no production model to compare ${spec.metric} with; absolute gates decide`, {
          candidate: cand,
        });
      const dir = spec.direction ?? defaultDirection(spec.metric);
      const gain = dir === "higher" ? cand - prod : prod - cand; // positive = candidate better
      const evidence = {
        candidate: cand,
        production: prod,
        productionVersion: ev.production?.version,
        gain,
        direction: dir,
      };
      if (spec.maxRegression !== undefined && gain < -spec.maxRegression) {
        return v(
          "fail",
          `${spec.metric} ${fmt(cand)} vs production ${fmt(prod)}: worse by ${fmt(-gain)}, more than ` +
            `the allowed ${spec.maxRegression}`,
          evidence,
        );
      }
      if (spec.minRelativeImprovement !== undefined) {
        const rel = prod === 0 ? (gain > 0 ? Infinity : 0) : gain / Math.abs(prod);
        if (rel < spec.minRelativeImprovement) {
          return v(
            "fail",
            `${spec.metric} improved by ${(100 * rel).toFixed(2)}% vs production, ` +
              `less than the required ${(100 * spec.minRelativeImprovement).toFixed(2)}%`,
            { ...evidence, relativeImprovement: rel },
          );
        }
      }
      return v(
        "pass",
        `${spec.metric} ${fmt(cand)} vs production ${fmt(prod)} (${gain >= 0 ? "+" : ""}${fmt(gain)})`,
        evidence,
      );
    }
    case "significance": {
      const ci = ev.bootstrap?.[spec.metric];
      if (!ev.production) return v("no-baseline", `no production model: nothing to test ${spec.metric} against`, {});
      if (!ci) return v("fail", `no bootstrap interval was computed for ${spec.metric}`, {});
      const dir = spec.direction ?? defaultDirection(spec.metric);
      const margin = spec.margin ?? 0;
      // Work in "gain" space: positive means the candidate is better.
      const [lo, hi] = dir === "higher" ? [ci.low, ci.high] : [-ci.high, -ci.low];
      // productionVersion: a pin's "replace-if-better" policy checks what the candidate beat.
      const productionVersion = ev.production.version;
      const evidence = { ...ci, direction: dir, gainInterval: [lo, hi], margin, productionVersion };
      const pct = `${Math.round(ci.confidence * 100)}%`;
      if ((spec.require ?? "not-worse") === "better") {
        return lo > margin
          ? v(
              "pass",
              `candidate ` +
                `is better on ${spec.metric}: ${pct} interval of the gain [${fmt(lo)}, ${fmt(hi)}] excludes ${margin}`,
              evidence,
            )
          : v(
              "fail",
              `candidate is not ` +
                `significantly ` +
                `better on ${spec.metric}: ${pct} interval of the gain [${fmt(lo)}, ${fmt(hi)}] includes ${margin}`,
              evidence,
            );
      }
      return lo >= -margin
        ? v(
            "pass",
            `candidate is ` +
              `not worse on ${spec.metric}: ${pct} interval ` +
              `of the gain [${fmt(lo)}, ${fmt(hi)}] stays above -${margin}`,
            evidence,
          )
        : v(
            "fail",
            `candidate may ` +
              `be worse on ${spec.metric}: ${pct} interval ` +
              `of the gain [${fmt(lo)}, ${fmt(hi)}] goes below -${margin} by ${fmt(-margin - lo)}`,
            evidence,
          );
    }
    case "fairness": {
      const f = ev.fairness?.[`${spec.metric}:${spec.column}`];
      if (!f) return v("fail", `no ${spec.metric} rates were computed across ${spec.column}`, {});
      const entries = Object.entries(f.groups).sort((a, b) => a[1].rate - b[1].rate);
      const [lowest, highest] = [entries[0], entries[entries.length - 1]];
      const evidence = { gap: f.gap, maxGap: spec.maxGap, lowest, highest, groups: f.groups };
      const gap = `${spec.metric} gap across ${spec.column} is ${fmt(f.gap)}`;
      if (f.gap <= spec.maxGap) return v("pass", `${gap} (bound ${spec.maxGap})`, evidence);
      const extremes = `${lowest?.[0]} ${fmt(lowest?.[1].rate ?? 0)} vs ${highest?.[0]} ${fmt(highest?.[1].rate ?? 0)}`;
      return v("fail", `${gap}, over the bound ${spec.maxGap} by ${fmt(f.gap - spec.maxGap)} (${extremes})`, evidence);
    }
    case "latency": {
      const l = ev.latency;
      if (!l) return v("fail", "latency was not measured", {});
      if (spec.p99Ms !== undefined && l.p99Ms > spec.p99Ms)
        return v("fail", `p99 latency ${fmt(l.p99Ms)} ms exceeds ${spec.p99Ms} ms by ${fmt(l.p99Ms - spec.p99Ms)} ms`, {
          ...l,
          bound: spec.p99Ms,
        });
      if (spec.p50Ms !== undefined && l.p50Ms > spec.p50Ms)
        return v("fail", `p50 latency ${fmt(l.p50Ms)} ms exceeds ${spec.p50Ms} ms by ${fmt(l.p50Ms - spec.p50Ms)} ms`, {
          ...l,
          bound: spec.p50Ms,
        });
      return v("pass", `p50 ${fmt(l.p50Ms)} ms, p99 ${fmt(l.p99Ms)} ms over ${l.samples} single-row predictions`, {
        ...l,
      });
    }
    case "size": {
      if (ev.sizeBytes === undefined) return v("fail", "model size was not measured", {});
      return ev.sizeBytes <= spec.maxBytes
        ? v("pass", `model is ${ev.sizeBytes} bytes (bound ${spec.maxBytes})`, {
            sizeBytes: ev.sizeBytes,
            maxBytes: spec.maxBytes,
          })
        : v(
            "fail",
            `model is ${ev.sizeBytes} bytes, over the bound ${spec.maxBytes} by ${ev.sizeBytes - spec.maxBytes}`,
            { sizeBytes: ev.sizeBytes, maxBytes: spec.maxBytes },
          );
    }
  }
}

/** Verdicts that block registration and deployment. */
export function failedGates(verdicts: readonly GateVerdict[]): GateVerdict[] {
  return verdicts.filter((v) => v.status === "fail");
}
