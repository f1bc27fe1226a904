/**
 * Runs: list, detail, steps, attempts, logs (a page, or followed as events), cache decisions,
 * outputs, live state; launch (the `trainyard trigger` path, keyed by Idempotency-Key), cancel,
 * resume and re-run. Reads go through the engine's query API, actions through the functions
 * the CLI calls.
 */
import type { Hono } from "hono";
import { cancelRun, requestManualRun, resumeInBackground, type ManualRunOutcome } from "../daemon/run-control.js";
import { cacheDecision, type RunDetail, type StepDetail } from "../engine/run-detail.js";
import { stepEnded } from "../engine/run-views.js";
import { defineRoute, type ApiServices } from "./api-context.js";
import { apiError, RUNS_HINT } from "./api-errors.js";
import { requireRunOrQueued, streamRunEvents, streamStepLog } from "./live-events.js";
import { runOverview } from "./run-overview.js";

export function registerRunRoutes(app: Hono, svc: ApiServices): void {
  const q = svc.ty.query;

  defineRoute(app, svc, "listRuns", async ({ query }) => q.listRuns({ ...query, limit: query.limit ?? 20 }));

  defineRoute(app, svc, "launchRun", async ({ c, body }) => {
    const known = await svc.catalog.resolve(body.pipeline);
    const outcome = await requestManualRun(svc.ty, svc.ticks, known.modulePath, {
      params: body.params,
      profile: body.profile,
      idempotencyKey: c.req.header("idempotency-key"),
      requestedBy: svc.actor,
      via: "the HTTP API",
      launchWithoutDaemon: svc.launchWithoutDaemon,
    });
    return launchResponse(outcome);
  });

  defineRoute(app, svc, "runDetail", async ({ params }) => detailView(await q.runDetail(params.run)));

  defineRoute(app, svc, "runOverview", async ({ params, query }) =>
    runOverview(svc, params.run, query.graph !== "false"),
  );

  defineRoute(app, svc, "runSteps", async ({ params }) => ({ steps: (await q.runDetail(params.run)).stepDetails }));

  defineRoute(app, svc, "runStep", async ({ params, query }) => stepDetail(svc, params.run, params.step, query.item));

  defineRoute(app, svc, "stepAttempts", async ({ params, query }) => ({
    attempts: (await stepDetail(svc, params.run, params.step, query.item)).attemptRecords,
  }));

  defineRoute(app, svc, "stepLogs", async ({ c, params, query }) => {
    const target = { run: params.run, step: params.step, item: query.item, attempt: query.attempt };
    const follow = query.follow === "true" || query.follow === "1" || c.req.header("accept") === "text/event-stream";
    // Checked up front: a stream that fails later can only end, not answer 404.
    await requireRunOrQueued(svc, params.run);
    if (follow) {
      // So is a step the run's pipeline does not have: the stream would wait for the run to end.
      const planned = (await q.run(params.run))?.steps;
      if (planned && !planned.includes(params.step)) await q.stepRun(params.run, params.step);
      return streamStepLog(c, svc, { ...target, offset: query.offset ?? 0 });
    }
    const sr = await q.stepRun(params.run, params.step, query.item);
    const page = await q.stepLogPage(params.run, params.step, { ...target, offset: query.offset, limit: query.limit });
    const run = (await q.run(params.run))!;
    return { ...page, done: stepEnded(sr, run) };
  });

  defineRoute(app, svc, "stepWhy", async ({ params }) => svc.ty.why(params.run, params.step));

  defineRoute(app, svc, "runOutputs", async ({ params }) => q.runOutputs(params.run));

  defineRoute(app, svc, "runEvents", async ({ c, params }) => {
    await requireRunOrQueued(svc, params.run);
    const run = await q.run(params.run);
    return streamRunEvents(c, svc, run?.id ?? params.run);
  });

  defineRoute(app, svc, "cancelRun", async ({ params }) => cancelRun(svc.ty, svc.ticks, params.run));

  defineRoute(app, svc, "resumeRun", async ({ params }) => {
    const r = await resumeInBackground(svc.ty, params.run);
    return { runId: r.runId, action: "resume-launched", message: r.message };
  });

  defineRoute(app, svc, "rerunRun", async ({ c, params }) => {
    const run = await q.requireRun(params.run, RUNS_HINT);
    const outcome = await requestManualRun(svc.ty, svc.ticks, run.modulePath, {
      params: run.params,
      profile: run.profile,
      idempotencyKey: c.req.header("idempotency-key"),
      requestedBy: svc.actor,
      via: `the HTTP API (re-run of ${run.id})`,
      launchWithoutDaemon: svc.launchWithoutDaemon,
    });
    return launchResponse(outcome);
  });
}

function launchResponse(o: ManualRunOutcome) {
  if (!o.sameRequest) {
    const key = o.request.idempotencyKey;
    throw apiError(
      "IDEMPOTENCY_CONFLICT",
      `idempotency key "${key}" was used for another request (run ${o.runId})`,
      "use a new key for a different request",
      {
        runId: o.runId,
      },
    );
  }
  const { pipeline, resolvedParams } = o.request;
  return {
    runId: o.runId,
    pipeline,
    created: o.created,
    sameRequest: o.sameRequest,
    resolvedParams,
    launchedBy: o.launchedBy,
  };
}

/** The run detail without `steps` (the raw records `show --json` prints): `stepDetails` holds them. */
function detailView(d: RunDetail) {
  const { run, trigger, owner, stepDetails, gates, guardNote } = d;
  return { run, trigger, owner, stepDetails, gates, guardNote };
}

async function stepDetail(svc: ApiServices, run: string, step: string, item?: number): Promise<StepDetail> {
  const q = svc.ty.query;
  const sr = await q.stepRun(run, step, item);
  if (item === undefined) {
    const found = (await q.runDetail(run)).stepDetails.find((s) => s.stepId === step);
    if (found) return found;
  }
  const attemptRecords = await svc.ty.metadata.listAttempts(sr.id);
  return { ...sr, cache: cacheDecision(sr), attemptRecords, itemRecords: [] };
}
