/**
 * A pipeline as a launch form and a DAG view read it: its compiled graph (steps, edges, which
 * are guards) and its params as JSON Schema (from the zod schema), with defaults and profiles.
 * The HTTP API serves these; `plan` and `run` resolve the same params the same way.
 */
import { compileGraph } from "../core/graph.js";
import { rankGraph } from "../core/graph-ranks.js";
import { sha256 } from "../core/hash.js";
import { resolveParams } from "../core/params.js";
import type { Trainyard } from "./trainyard.js";

type Loaded = Awaited<ReturnType<Trainyard["load"]>>;

export interface PipelineGraphView {
  pipeline: string;
  modulePath: string;
  /** Digest of the graph's shape: a client caches its layout by it. */
  digest: string;
  /** `rank` and `order`: a layered placement (longest path, barycentre order) a view can draw at once. */
  nodes: Array<{ id: string; kind: string; guard: boolean; needs: string[]; rank: number; order: number }>;
  edges: Array<{ from: string; to: string; input: string }>;
}

export interface PipelineParamsView {
  pipeline: string;
  jsonSchema: Record<string, unknown>;
  defaults: Record<string, unknown>;
  profiles: Record<string, Record<string, unknown>>;
}

// A loaded module's pipeline object is kept while its bundle is unchanged: compile its view once.
const graphViews = new WeakMap<object, PipelineGraphView>();

export function pipelineGraph(loaded: Loaded): PipelineGraphView {
  const known = graphViews.get(loaded.pipeline);
  if (known?.modulePath === loaded.modulePath) return known;
  const graph = compileGraph(loaded.pipeline);
  const edges: PipelineGraphView["edges"] = [];
  for (const id of graph.order) {
    const def = graph.steps.get(id)!.def;
    const refs: Array<[string, { stepId: string } | undefined]> = Object.entries(def.inputs);
    if (def.over) refs.push(["over", def.over]);
    for (const [input, ref] of refs) if (ref) edges.push({ from: ref.stepId, to: id, input });
  }
  const ranks = rankGraph(graph.order, edges);
  const nodes = graph.order.map((id) => {
    const step = graph.steps.get(id)!;
    const { rank, order } = ranks.get(id)!;
    return { id, kind: step.def.kind, guard: step.def.options.guard === true, needs: [...step.upstream], rank, order };
  });
  // The digest stands for the shape alone: placements are derived from it.
  const shape = nodes.map(({ id, kind, guard, needs }) => ({ id, kind, guard, needs }));
  const digest = `sha256:${sha256(JSON.stringify({ nodes: shape, edges }))}`;
  const view = { pipeline: loaded.pipeline.name, modulePath: loaded.modulePath, digest, nodes, edges };
  graphViews.set(loaded.pipeline, view);
  return view;
}

/** The params' JSON Schema (draft 2020-12) with the defaults and every profile (pipeline's win over config's). */
export async function pipelineParams(loaded: Loaded): Promise<PipelineParamsView> {
  const { pipeline } = loaded;
  const profiles = {
    ...(loaded.configProfiles ?? {}),
    ...(pipeline.profiles as Record<string, Record<string, unknown>>),
  };
  const defaults = resolveParams(pipeline.name, pipeline.paramsSchema, {}, {});
  const jsonSchema = pipeline.paramsSchema
    ? await toJsonSchema(pipeline.paramsSchema)
    : { type: "object", properties: {} };
  return { pipeline: pipeline.name, jsonSchema, defaults, profiles };
}

async function toJsonSchema(schema: object): Promise<Record<string, unknown>> {
  // The module's own zod may be a bundled copy: its method converts its own schema best.
  const own = (schema as { toJSONSchema?: (o?: object) => Record<string, unknown> }).toJSONSchema;
  const options = { io: "input", unrepresentable: "any", target: "draft-2020-12" };
  if (typeof own === "function") return own.call(schema, options);
  const { z } = await import("zod");
  return z.toJSONSchema(schema as Parameters<typeof z.toJSONSchema>[0], options as object) as Record<string, unknown>;
}
