/**
 * Experiment tracking: a run's metric series, tags and search trials, runs compared side by side
 * (GET with ids in the query, or POST with a list too long for a URL) and a pipeline's runs with
 * their final metrics for a compare picker. All of it is the engine's query API, as the CLI reads it.
 */
import type { Hono } from "hono";
import { defineRoute, type ApiServices } from "./api-context.js";
import { apiError } from "./api-errors.js";

export function registerExperimentRoutes(app: Hono, svc: ApiServices): void {
  const q = svc.ty.query;

  defineRoute(app, svc, "runMetrics", async ({ params, query }) => {
    const stepsOnly = query.stepsOnly === "true" || query.stepsOnly === "1";
    const series = await q.metrics(params.run, { step: query.step, metric: query.metric, stepsOnly });
    return { runId: (await q.run(params.run))!.id, series };
  });

  defineRoute(app, svc, "runTags", async ({ params }) => {
    const tags = await q.tags(params.run);
    return { runId: (await q.run(params.run))!.id, tags };
  });

  defineRoute(app, svc, "runTrials", async ({ params }) => {
    const searches = await q.searchTrials(params.run);
    return { runId: (await q.run(params.run))!.id, searches };
  });

  defineRoute(app, svc, "compareRuns", async ({ query }) => q.compareRuns(runList(query.runs)));

  defineRoute(app, svc, "compareRunList", async ({ body }) => q.compareRuns(body.runs));

  defineRoute(app, svc, "pipelineRuns", async ({ params, query }) => {
    const known = await svc.catalog.resolve(params.pipeline);
    return q.runSummaries(known.name, { status: query.status, cursor: query.cursor, limit: query.limit ?? 100 });
  });
}

function runList(text: string): string[] {
  const ids = text
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length > 500) {
    throw apiError("USAGE", `${ids.length} runs to compare, at most 500`, "compare fewer runs at once", {
      field: "runs",
    });
  }
  return ids;
}
