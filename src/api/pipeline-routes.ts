/** Pipelines: the known ones, each one's graph, params JSON Schema, plan preview and runs x steps grid. */
import type { Hono } from "hono";
import { pipelineGraph, pipelineParams } from "../engine/pipeline-views.js";
import { defineRoute, type ApiServices } from "./api-context.js";

export function registerPipelineRoutes(app: Hono, svc: ApiServices): void {
  const q = svc.ty.query;

  defineRoute(app, svc, "listPipelines", async () => {
    const known = await svc.catalog.list();
    const pipelines = [];
    for (const p of known) {
      const [last] = (await q.listRuns({ pipeline: p.name, limit: 1 })).runs;
      const lastRun = last && { id: last.id, status: last.status, createdAt: last.createdAt };
      pipelines.push({ ...p, ...(lastRun ? { lastRun } : {}) });
    }
    return { pipelines };
  });

  defineRoute(app, svc, "pipelineGraph", async ({ params }) => pipelineGraph(await svc.catalog.load(params.pipeline)));

  defineRoute(app, svc, "pipelineParams", async ({ params }) =>
    pipelineParams(await svc.catalog.load(params.pipeline)),
  );

  defineRoute(app, svc, "pipelinePlan", async ({ params, body }) => {
    const known = await svc.catalog.resolve(params.pipeline);
    return svc.ty.plan(known.modulePath, { params: body.params, profile: body.profile });
  });

  defineRoute(app, svc, "pipelineGrid", async ({ params, query }) => q.runGrid(params.pipeline, query.limit ?? 100));
}
