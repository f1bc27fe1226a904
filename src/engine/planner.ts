/**
 * `trainyard plan`: what a run would do, without running anything. Walks the DAG in order,
 * computing cache keys wherever all inputs are already known (i.e. upstream is reusable), and
 * says for each step whether it would be reused and why, or why it would run.
 */
import { existsSync } from "node:fs";
import { handlesIn } from "../core/artifacts.js";
import { hashJson } from "../core/hash.js";
import type { CompiledGraph } from "../core/graph.js";
import { pickParams } from "../core/params.js";
import type { KeyComponents } from "../store/metadata-store.js";
import { digestOfValue, pickedDigest, pickValue, toManifest } from "./artifact-io.js";
import type { CodeContext } from "./code-context.js";
import { cacheKey, codeFingerprint, keyComponents, sourceDigests } from "./cache-key.js";
import { explainChange } from "./explain.js";
import type { Trainyard } from "./trainyard.js";

export interface PlannedStep {
  step: string;
  action: "reuse" | "run";
  reasons: string[];
  cacheKey?: string;
  /** The step run whose outputs would be reused. */
  from?: string;
  items?: { total: number; reused: number };
}

export interface PlanResult {
  pipeline: string;
  params: Record<string, unknown>;
  steps: PlannedStep[];
}

export async function planRun(ty: Trainyard, graph: CompiledGraph, params: Record<string, unknown>, moduleDir: string, force?: boolean | readonly string[], codeContext?: CodeContext): Promise<PlanResult> {
  const pipeline = graph.pipeline.name;
  const known = new Map<string, { digest: string; value: unknown }>();
  const steps: PlannedStep[] = [];
  const forced = (id: string) => force === true || (Array.isArray(force) && force.includes(id));
  const previousFor = async (stepId: string, itemIndex: number, components: KeyComponents): Promise<string[]> => {
    const prev = await ty.metadata.previousStepRun(pipeline, stepId, itemIndex, Date.now(), "");
    if (!prev?.components) return ["no earlier run of this step"];
    const diff = await explainChange(prev.components, components, (d) => ty.metadata.getArtifact(d));
    if (diff.length) return diff.map((d) => `${d} (vs run ${prev.runId})`);
    return prev.status === "failed" ? [`the last run with this key failed (run ${prev.runId})`] : ["outputs of the matching run are no longer stored"];
  };

  for (const id of graph.order) {
    const def = graph.steps.get(id)!.def;
    const waiting = graph.steps.get(id)!.upstream.filter((u) => !known.has(u));
    if (waiting.length) {
      steps.push({ step: id, action: "run", reasons: [`upstream ${waiting.map((w) => `"${w}"`).join(", ")} will run, so its inputs are not known yet`] });
      continue;
    }
    const inputs: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    for (const [name, ref] of Object.entries(def.inputs)) {
      const up = known.get(ref.stepId)!;
      values[name] = ref.path.length ? pickValue(up.value, ref.path, ref.stepId, name) : up.value;
      inputs[name] = ref.path.length ? pickedDigest(values[name]) : up.digest;
    }
    const p = pickParams(params, def.params);
    const base = await codeFingerprint(def, moduleDir, ty.metadata, codeContext);
    const fp = def.options.sources ? { ...base, files: { ...base.files, ...(await sourceDigests(def, p, moduleDir, ty.metadata)) } } : base;
    if (def.kind === "map") {
      const up = known.get(def.over!.stepId)!;
      const list = def.over!.path.length ? pickValue(up.value, def.over!.path, def.over!.stepId, "over") : up.value;
      const items = Array.isArray(list) ? list : [];
      let reused = 0;
      const outs: unknown[] = [];
      const reasons: string[] = [];
      for (let i = 0; i < items.length; i++) {
        const c = keyComponents(def, fp, p, inputs, hashJson(toManifest(items[i]) ?? null));
        const hit = !forced(id) && def.options.cache !== false ? await ty.metadata.findByCacheKey(cacheKey(c)) : undefined;
        if (hit?.outputDigest) {
          reused++;
          outs.push(await ty.io.load(hit.outputDigest));
        } else if (reasons.length < 5) reasons.push(`item ${i}: ${(forced(id) ? ["forced (--force)"] : await previousFor(id, i, c)).join("; ")}`);
      }
      const all = reused === items.length;
      if (all) known.set(id, { digest: digestOfValue(outs), value: outs });
      steps.push({ step: id, action: all ? "reuse" : "run", reasons: all ? [`all ${items.length} items are cached`] : reasons, items: { total: items.length, reused } });
      continue;
    }
    const c = keyComponents(def, fp, p, inputs);
    const key = cacheKey(c);
    if (forced(id)) {
      steps.push({ step: id, action: "run", reasons: ["forced (--force)"], cacheKey: key });
      continue;
    }
    if (def.options.cache === false) {
      steps.push({ step: id, action: "run", reasons: ["caching is disabled for this step"], cacheKey: key });
      continue;
    }
    const hit = await ty.metadata.findByCacheKey(key);
    const hitValue = hit?.outputDigest ? await ty.io.load(hit.outputDigest).catch(() => undefined) : undefined;
    if (hit?.outputDigest && hitValue !== undefined && [...handlesIn(hitValue)].every((h) => existsSync(h.path))) {
      known.set(id, { digest: hit.outputDigest, value: hitValue });
      steps.push({ step: id, action: "reuse", reasons: [`cache hit: same inputs, params and code as run ${hit.runId}`], cacheKey: key, from: hit.cachedFrom ?? hit.id });
    } else {
      steps.push({ step: id, action: "run", reasons: await previousFor(id, -1, c), cacheKey: key });
    }
  }
  return { pipeline, params, steps };
}
