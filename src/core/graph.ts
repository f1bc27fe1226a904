/**
 * Compiles a pipeline definition into a validated DAG: topological order, dependents, and the
 * longest-remaining-path priority the scheduler uses to pick among ready steps.
 */
import { TrainyardError } from "./errors.js";
import type { Pipeline } from "./pipeline.js";
import type { AnyStepRef, StepDef } from "./step.js";

export interface CompiledStep {
  readonly def: StepDef;
  /** Ids of the steps whose outputs this step reads (inputs and `over`). */
  readonly upstream: readonly string[];
  readonly downstream: readonly string[];
  /** Position in topological order. */
  readonly order: number;
}

export interface CompiledGraph {
  readonly pipeline: Pipeline<any>;
  readonly steps: ReadonlyMap<string, CompiledStep>;
  readonly order: readonly string[];
}

export function compileGraph(p: Pipeline<any>): CompiledGraph {
  const knownParams = p.paramsSchema ? Object.keys(p.paramsSchema.shape) : [];
  const upstreamOf = new Map<string, string[]>();
  for (const def of p.steps.values()) {
    const refs: Array<[string, AnyStepRef]> = Object.entries(def.inputs);
    if (def.over) refs.push(["over", def.over]);
    const ups: string[] = [];
    for (const [name, ref] of refs) {
      if (!ref || typeof ref !== "object" || typeof ref.stepId !== "string") {
        throw new TrainyardError("PIPELINE_INVALID", `step "${def.id}": input "${name}" is not a step reference`, {
          step: def.id,
          hint: "wire inputs with the value returned by pipeline.step(), e.g. inputs: { raw: ingest }",
        });
      }
      if (!p.steps.has(ref.stepId)) {
        throw new TrainyardError(
          "MISSING_INPUT",
          `step "${def.id}": input "${name}" refers to step "${ref.stepId}", ` +
            `which pipeline "${p.name}" does not define`,
          {
            step: def.id,
            hint:
              `define step "${ref.stepId}" in this ` +
              `pipeline before "${def.id}", or wire "${name}" to an existing step`,
          },
        );
      }
      if (!ups.includes(ref.stepId)) ups.push(ref.stepId);
    }
    for (const param of def.params) {
      if (!knownParams.includes(param)) {
        throw new TrainyardError(
          "UNKNOWN_PARAM",
          `step "${def.id}" reads param "${param}", which pipeline "${p.name}" does not declare`,
          {
            step: def.id,
            param,
            hint: knownParams.length
              ? `declare it in the pipeline's params schema; known params: ${knownParams.join(", ")}`
              : "declare it in the pipeline's params schema",
          },
        );
      }
    }
    if (def.options.pool !== undefined && !(def.options.pool in p.pools)) {
      throw new TrainyardError(
        "PIPELINE_INVALID",
        `step "${def.id}" uses pool "${def.options.pool}", which pipeline "${p.name}" does not declare`,
        {
          step: def.id,
          hint: `add pools: { ${JSON.stringify(def.options.pool)}: <size> } to the pipeline options`,
        },
      );
    }
    parseDuration(def.options.timeout, def.id); // a malformed timeout fails before anything runs
    upstreamOf.set(def.id, ups);
  }

  // Kahn's algorithm, in definition order for stable output.
  const indegree = new Map<string, number>();
  const downstreamOf = new Map<string, string[]>();
  for (const id of p.steps.keys()) {
    indegree.set(id, upstreamOf.get(id)!.length);
    downstreamOf.set(id, []);
  }
  for (const [id, ups] of upstreamOf) for (const u of ups) downstreamOf.get(u)!.push(id);
  const queue = [...p.steps.keys()].filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    order.push(id);
    for (const d of downstreamOf.get(id)!) {
      const left = indegree.get(d)! - 1;
      indegree.set(d, left);
      if (left === 0) queue.push(d);
    }
  }
  if (order.length !== p.steps.size) {
    const stuck = [...p.steps.keys()].filter((id) => !order.includes(id));
    const cycle = findCycle(stuck, upstreamOf);
    throw new TrainyardError("PIPELINE_CYCLE", `pipeline "${p.name}" has a cycle: ${cycle.join(" -> ")}`, {
      step: cycle[0],
      hint: "a step cannot depend on its own output, directly or through other steps; remove one of these edges",
    });
  }
  const steps = new Map<string, CompiledStep>();
  order.forEach((id, i) => {
    steps.set(id, {
      def: p.steps.get(id)!,
      upstream: upstreamOf.get(id)!,
      downstream: downstreamOf.get(id)!,
      order: i,
    });
  });
  return { pipeline: p, steps, order };
}

function findCycle(stuck: string[], upstreamOf: Map<string, string[]>): string[] {
  const inStuck = new Set(stuck);
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (id: string): string[] | undefined => {
    if (onPath.has(id)) return [...path.slice(path.indexOf(id)), id];
    onPath.add(id);
    path.push(id);
    for (const u of upstreamOf.get(id) ?? []) {
      if (!inStuck.has(u)) continue;
      const found = visit(u);
      if (found) return found;
    }
    path.pop();
    onPath.delete(id);
    return undefined;
  };
  return (visit(stuck[0]) ?? stuck).reverse();
}

/**
 * Longest remaining path (including the step itself) per step, weighted by expected duration.
 * Steps without history weigh 1 ms so that structure alone still orders them.
 */
export function remainingPathWeights(
  graph: CompiledGraph,
  durations: ReadonlyMap<string, number>,
): Map<string, number> {
  const weight = new Map<string, number>();
  for (let i = graph.order.length - 1; i >= 0; i--) {
    const id = graph.order[i];
    const own = Math.max(durations.get(id) ?? 1, 1);
    let best = 0;
    for (const d of graph.steps.get(id)!.downstream) best = Math.max(best, weight.get(d)!);
    weight.set(id, own + best);
  }
  return weight;
}

/** Every step that transitively reads `id`'s output. */
export function descendantsOf(graph: CompiledGraph, id: string): Set<string> {
  const out = new Set<string>();
  const stack = [...graph.steps.get(id)!.downstream];
  while (stack.length) {
    const s = stack.pop()!;
    if (out.has(s)) continue;
    out.add(s);
    stack.push(...graph.steps.get(s)!.downstream);
  }
  return out;
}

/** Parses "30s", "5m", "1h", "250ms" or a number of milliseconds. */
export function parseDuration(value: number | string | undefined, step?: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!m) {
    throw new TrainyardError("PIPELINE_INVALID", `step "${step}": timeout "${value}" is not a duration`, {
      step,
      hint: 'use milliseconds or a string such as "250ms", "30s", "5m", "1h"',
    });
  }
  const n = Number(m[1]);
  const unit = m[2] ?? "ms";
  return n * (unit === "h" ? 3_600_000 : unit === "m" ? 60_000 : unit === "s" ? 1000 : 1);
}
