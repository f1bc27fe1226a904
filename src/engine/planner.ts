/**
 * `trainyard plan`: what a run would do, without running anything. It walks the DAG with the
 * run's own resolution (step-resolution.ts): a step whose inputs are known gets the decision the
 * run would make; a step downstream of one that will run is decided only when that one finishes.
 */
import { digestOfValue } from "../core/artifacts.js";
import type { CompiledGraph } from "../core/graph.js";
import type { KeyComponents } from "../store/metadata-store.js";
import type { CodeContext } from "./code-context.js";
import { cacheKey } from "./cache-key.js";
import { explainChange } from "./explain.js";
import { StepResolver, type ResolvedOutput } from "./step-resolution.js";
import type { Trainyard } from "./trainyard.js";

export interface PlannedStep {
  step: string;
  /**
   * "reuse" and "run" are what the run will do; "depends": an upstream step will run, and the
   * run decides when its new output is known (it may still be reused).
   */
  action: "reuse" | "run" | "depends";
  reasons: string[];
  cacheKey?: string;
  /** The step run whose outputs would be reused. */
  from?: string;
  /** A map step: its items, and how many of them would be reused. */
  items?: { total: number; reused: number };
  /** "depends": the upstream steps that will run first. */
  waitsFor?: string[];
}

export interface PlanResult {
  pipeline: string;
  params: Record<string, unknown>;
  steps: PlannedStep[];
}

export async function planRun(
  ty: Trainyard,
  graph: CompiledGraph,
  params: Record<string, unknown>,
  moduleDir: string,
  force?: boolean | readonly string[],
  codeContext?: CodeContext,
): Promise<PlanResult> {
  const pipeline = graph.pipeline.name;
  const resolver = new StepResolver({ metadata: ty.metadata, io: ty.io, moduleDir, codeContext, force });
  const known = new Map<string, ResolvedOutput>();
  const outputOf = (id: string) => known.get(id)!;
  const steps: PlannedStep[] = [];
  /** For an undecided step: the steps that will run before it is decided. */
  const runsBefore = new Map<string, string[]>();
  const explainMiss = async (stepId: string, itemIndex: number, components: KeyComponents): Promise<string[]> => {
    const prev = await ty.metadata.previousStepRun(pipeline, stepId, itemIndex, Date.now(), "");
    if (!prev?.components) return ["no earlier run of this step"];
    const diff = await explainChange(prev.components, components, (d) => ty.metadata.getArtifact(d));
    if (diff.length) return diff.map((d) => `${d} (vs run ${prev.runId})`);
    if (prev.status === "failed") return [`the last run with this key failed (run ${prev.runId})`];
    return ["outputs of the matching run are no longer stored"];
  };

  for (const id of graph.order) {
    const def = graph.steps.get(id)!.def;
    const waiting = graph.steps.get(id)!.upstream.filter((u) => !known.has(u));
    if (waiting.length) {
      // Named by the steps that will run, not by the undecided steps in between.
      const runs = [...new Set(waiting.flatMap((w) => runsBefore.get(w) ?? [w]))];
      runsBefore.set(id, runs);
      const names = runs.map((w) => `"${w}"`).join(", ");
      const reason =
        `upstream ${names} will run; ` + `decided when ${runs.length > 1 ? "their" : "its"} new output is known`;
      steps.push({ step: id, action: "depends", reasons: [reason], waitsFor: runs });
      continue;
    }
    let step;
    let items: unknown[] = [];
    try {
      step = await resolver.resolve(def, params, outputOf);
      if (def.kind === "map") items = (await resolver.fanOut(def, outputOf)).items;
    } catch (err) {
      steps.push({ step: id, action: "run", reasons: [`would fail: ${(err as Error).message}`] });
      continue;
    }
    if (def.kind === "map") {
      const values: unknown[] = [];
      const reasons: string[] = [];
      for (let i = 0; i < items.length; i++) {
        const c = resolver.itemComponents(step, items[i]);
        const decision = await resolver.decide(def, cacheKey(c));
        if (decision.action === "reuse") values.push(decision.value);
        else if (reasons.length < 5) {
          const why = decision.explainable ? await explainMiss(id, i, c) : [decision.reason];
          reasons.push(`item ${i}: ${why.join("; ")}`);
        }
      }
      const all = values.length === items.length;
      // The map's output is the list of its items' outputs, stored as the run stores it.
      if (all) known.set(id, { digest: digestOfValue(values), value: values });
      const total = items.length;
      const summary = all ? [`all ${total} items are cached`] : reasons;
      steps.push({
        step: id,
        action: all ? "reuse" : "run",
        reasons: summary,
        items: { total, reused: values.length },
      });
      continue;
    }
    const components = resolver.components(step);
    const key = cacheKey(components);
    const decision = await resolver.decide(def, key);
    if (decision.action === "reuse") {
      known.set(id, { digest: decision.hit.outputDigest!, value: decision.value });
      const reason = `cache hit: same inputs, params and code as run ${decision.hit.runId}`;
      steps.push({
        step: id,
        action: "reuse",
        reasons: [reason],
        cacheKey: key,
        from: decision.hit.cachedFrom ?? decision.hit.id,
      });
    } else {
      const reasons = decision.explainable ? await explainMiss(id, -1, components) : [decision.reason];
      steps.push({ step: id, action: "run", reasons, cacheKey: key });
    }
  }
  return { pipeline, params, steps };
}
