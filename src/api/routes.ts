/**
 * The route table of the HTTP API: every route's method, path, schemas and whether it mutates.
 * The server registers its handlers by these ids, the OpenAPI document is generated from it,
 * and a test walks it so that no route goes untested. Paths use OpenAPI's `{param}` syntax.
 */
import type { z } from "zod";
import * as s from "./schemas.js";

export const API_PREFIX = "/api/v1";

export interface RouteSpec {
  method: "get" | "post";
  /** Below /api/v1, with `{param}` placeholders. */
  path: string;
  summary: string;
  tag:
    | "server"
    | "pipelines"
    | "runs"
    | "triggers"
    | "artifacts"
    | "data"
    | "models"
    | "serving"
    | "daemon"
    | "workers";
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The JSON body of a 2xx response (absent for HTML, bytes and event streams). */
  response?: z.ZodType;
  /** @default 200 */
  status?: number;
  /** Another content type than JSON: served as it is. */
  produces?: "text/html" | "text/event-stream" | "application/octet-stream";
  /** Changes state: refused in read-only mode, needs the same-origin header. */
  mutates?: boolean;
  /** Reads the `Idempotency-Key` header. */
  idempotent?: boolean;
}

export const ROUTES = {
  serverInfo: {
    method: "get",
    path: "",
    summary: "The server: API version, read-only mode, backend",
    tag: "server",
    response: s.ServerInfoSchema,
  },

  listPipelines: {
    method: "get",
    path: "/pipelines",
    summary: "Pipelines known from the modules given to `trainyard ui` and from recorded runs",
    tag: "pipelines",
    response: s.PipelineListSchema,
  },
  pipelineGraph: {
    method: "get",
    path: "/pipelines/{pipeline}/graph",
    summary: "The pipeline's steps and edges, in topological order",
    tag: "pipelines",
    response: s.PipelineGraphSchema,
  },
  pipelineParams: {
    method: "get",
    path: "/pipelines/{pipeline}/params",
    summary: "The params' JSON Schema (from the zod schema), defaults and profiles",
    tag: "pipelines",
    response: s.PipelineParamsSchema,
  },
  pipelinePlan: {
    method: "post",
    path: "/pipelines/{pipeline}/plan",
    summary: "What a run with these params would run and reuse, and why (launches nothing)",
    tag: "pipelines",
    body: s.PlanRequestSchema,
    response: s.PlanSchema,
  },
  pipelineGrid: {
    method: "get",
    path: "/pipelines/{pipeline}/grid",
    summary: "Runs x steps history of the pipeline's latest runs",
    tag: "pipelines",
    query: s.GridQuerySchema,
    response: s.RunGridSchema,
  },
  pipelineRuns: {
    method: "get",
    path: "/pipelines/{pipeline}/runs",
    summary: "The pipeline's runs, newest first and paged, with their params and final metrics (the compare picker)",
    tag: "pipelines",
    query: s.RunSummaryQuerySchema,
    response: s.RunSummaryPageSchema,
  },

  listRuns: {
    method: "get",
    path: "/runs",
    summary: "Runs, newest first, filtered, one page per cursor",
    tag: "runs",
    query: s.RunListQuerySchema,
    response: s.RunPageSchema,
  },
  launchRun: {
    method: "post",
    path: "/runs",
    summary: "Ask for a run (as `trainyard trigger`); the same Idempotency-Key is the same run",
    tag: "runs",
    body: s.LaunchRequestSchema,
    response: s.LaunchResponseSchema,
    status: 202,
    mutates: true,
    idempotent: true,
  },
  runDetail: {
    method: "get",
    path: "/runs/{run}",
    summary: "A run with its steps, attempts, cache decisions, gate verdicts and trigger",
    tag: "runs",
    response: s.RunDetailSchema,
  },
  runOverview: {
    method: "get",
    path: "/runs/{run}/overview",
    summary: "What the run page draws first: the run, gate verdicts, each step's state and the pipeline's graph",
    tag: "runs",
    query: s.RunOverviewQuerySchema,
    response: s.RunOverviewSchema,
  },
  runSteps: {
    method: "get",
    path: "/runs/{run}/steps",
    summary: "The run's steps in detail",
    tag: "runs",
    response: s.StepListSchema,
  },
  runStep: {
    method: "get",
    path: "/runs/{run}/steps/{step}",
    summary: "One step (or map item) in detail",
    tag: "runs",
    query: s.StepQuerySchema,
    response: s.StepDetailSchema,
  },
  stepAttempts: {
    method: "get",
    path: "/runs/{run}/steps/{step}/attempts",
    summary: "The attempts of a step (or map item)",
    tag: "runs",
    query: s.StepQuerySchema,
    response: s.AttemptListSchema,
  },
  stepLogs: {
    method: "get",
    path: "/runs/{run}/steps/{step}/logs",
    summary: "A step's log lines from an offset; with follow=true, an event stream until the step ends",
    tag: "runs",
    query: s.LogQuerySchema,
    response: s.LogPageSchema,
  },
  stepWhy: {
    method: "get",
    path: "/runs/{run}/steps/{step}/why",
    summary: "The step's cache decision and what changed (as `trainyard why`)",
    tag: "runs",
    response: s.WhySchema,
  },
  runOutputs: {
    method: "get",
    path: "/runs/{run}/outputs",
    summary: "The run's step outputs: digests, kinds and small JSON values",
    tag: "runs",
    response: s.RunOutputsSchema,
  },
  runEvents: {
    method: "get",
    path: "/runs/{run}/events",
    summary: "Live run and step state as Server-Sent Events (resumable with Last-Event-ID)",
    tag: "runs",
    produces: "text/event-stream",
  },
  cancelRun: {
    method: "post",
    path: "/runs/{run}/cancel",
    summary: "Cancel a queued or running run",
    tag: "runs",
    response: s.RunActionResponseSchema,
    status: 202,
    mutates: true,
  },
  resumeRun: {
    method: "post",
    path: "/runs/{run}/resume",
    summary: "Continue an interrupted, cancelled or failed run in place (as `trainyard resume`)",
    tag: "runs",
    response: s.RunActionResponseSchema,
    status: 202,
    mutates: true,
  },
  rerunRun: {
    method: "post",
    path: "/runs/{run}/rerun",
    summary: "A new run with the same params and profile: succeeded steps are reused, the rest runs",
    tag: "runs",
    response: s.LaunchResponseSchema,
    status: 202,
    mutates: true,
    idempotent: true,
  },

  runMetrics: {
    method: "get",
    path: "/runs/{run}/metrics",
    summary: "The run's metric series per step (and map item): points, final, best with its step, goal",
    tag: "runs",
    query: s.MetricQuerySchema,
    response: s.RunMetricsSchema,
  },
  runTags: {
    method: "get",
    path: "/runs/{run}/tags",
    summary: "The run's tags (the last value of each key)",
    tag: "runs",
    response: s.RunTagsSchema,
  },
  runTrials: {
    method: "get",
    path: "/runs/{run}/trials",
    summary: "The run's search trials: each map step's items with their params and scores",
    tag: "runs",
    response: s.TrialSetListSchema,
  },
  compareRuns: {
    method: "get",
    path: "/compare",
    summary: "Runs side by side (as `trainyard runs compare`): params, final metrics, tags; differences first",
    tag: "runs",
    query: s.CompareQuerySchema,
    response: s.RunComparisonSchema,
  },
  compareRunList: {
    method: "post",
    path: "/compare",
    summary: "The same comparison for a list of runs too long for a URL",
    tag: "runs",
    body: s.CompareRequestSchema,
    response: s.RunComparisonSchema,
  },

  listTriggers: {
    method: "get",
    path: "/triggers",
    summary: "Triggers: declared ones of known modules and those with recorded state, with next and last tick",
    tag: "triggers",
    response: s.TriggerListSchema,
  },
  triggerTicks: {
    method: "get",
    path: "/triggers/{pipeline}/{name}/ticks",
    summary: "A trigger's ticks with their reasons, newest first",
    tag: "triggers",
    query: s.TickQuerySchema,
    response: s.TickListSchema,
  },
  pauseTrigger: {
    method: "post",
    path: "/triggers/{pipeline}/{name}/pause",
    summary: "Pause a trigger: its slots are recorded as skipped",
    tag: "triggers",
    response: s.PauseResponseSchema,
    mutates: true,
  },
  unpauseTrigger: {
    method: "post",
    path: "/triggers/{pipeline}/{name}/unpause",
    summary: "Unpause a trigger",
    tag: "triggers",
    response: s.PauseResponseSchema,
    mutates: true,
  },
  previewTrigger: {
    method: "post",
    path: "/triggers/{pipeline}/{name}/preview",
    summary: "Evaluate a declared trigger once and return the runs it would request (launches nothing)",
    tag: "triggers",
    body: s.PreviewRequestSchema,
    response: s.PreviewSchema,
  },
  events: {
    method: "get",
    path: "/events",
    summary: "Live run state and trigger ticks of the whole home as Server-Sent Events (Last-Event-ID)",
    tag: "triggers",
    produces: "text/event-stream",
  },

  artifact: {
    method: "get",
    path: "/artifacts/{digest}",
    summary: "An artifact's record",
    tag: "artifacts",
    response: s.ArtifactSchema,
  },
  artifactLineage: {
    method: "get",
    path: "/artifacts/{digest}/lineage",
    summary: "Who wrote an artifact, from what, back to the raw inputs; and who read it",
    tag: "artifacts",
    response: s.ArtifactLineageSchema,
  },
  artifactValue: {
    method: "get",
    path: "/artifacts/{digest}/value",
    summary: "The value of a JSON artifact",
    tag: "artifacts",
    response: s.ArtifactValueSchema,
  },
  artifactContent: {
    method: "get",
    path: "/artifacts/{digest}/content",
    summary: "The verified bytes of a file artifact",
    tag: "artifacts",
    produces: "application/octet-stream",
  },
  report: {
    method: "get",
    path: "/reports/{digest}",
    summary: "The HTML report behind a step output or artifact (as `trainyard report`)",
    tag: "artifacts",
    produces: "text/html",
  },

  dataReports: {
    method: "get",
    path: "/data/reports",
    summary: "Data profiles, drift results and contract checks of recent runs",
    tag: "data",
    query: s.DataReportQuerySchema,
    response: s.DataReportListSchema,
  },
  dataReport: {
    method: "get",
    path: "/data/reports/{run}/{step}/{index}",
    summary: "One profile, drift or contract report in full (histograms, PSI/KS per column, violations)",
    tag: "data",
    response: s.DataReportSchema,
  },

  listModels: {
    method: "get",
    path: "/models",
    summary: "Registered models",
    tag: "models",
    response: s.ModelListSchema,
  },
  model: {
    method: "get",
    path: "/models/{model}",
    summary: "A model's versions with metrics and gate verdicts, pins and alias history",
    tag: "models",
    response: s.ModelDetailSchema,
  },
  modelVersion: {
    method: "get",
    path: "/models/{model}/versions/{ref}",
    summary: "A version by number or alias",
    tag: "models",
    response: s.VersionDetailSchema,
  },
  modelLineage: {
    method: "get",
    path: "/models/{model}/versions/{ref}/lineage",
    summary: "Which data, code, params, run and gates made a version",
    tag: "models",
    response: s.ModelLineageSchema,
  },
  aliasHistory: {
    method: "get",
    path: "/models/{model}/aliases/history",
    summary: "Moves of the model's aliases (or of one), oldest first: who, when, why, forced",
    tag: "models",
    query: s.AliasHistoryQuerySchema,
    response: s.AliasHistorySchema,
  },
  promote: {
    method: "post",
    path: "/models/{model}/promote",
    summary: "Point an alias at a version (force past failed gates needs a reason; pins the alias)",
    tag: "models",
    body: s.PromoteRequestSchema,
    response: s.AliasChangeResponseSchema,
    mutates: true,
  },
  rollback: {
    method: "post",
    path: "/models/{model}/rollback",
    summary: "Move an alias back to its previous version and pin it",
    tag: "models",
    body: s.RollbackRequestSchema,
    response: s.AliasChangeResponseSchema,
    mutates: true,
  },
  unpin: {
    method: "post",
    path: "/models/{model}/unpin",
    summary: "Release a pinned alias so that automated runs may move it again",
    tag: "models",
    body: s.UnpinRequestSchema,
    response: s.UnpinResponseSchema,
    mutates: true,
  },

  servingSeries: {
    method: "get",
    path: "/serving/{model}/{alias}/series",
    summary: "Requests, latency percentiles and the monitored metric per window of a served alias",
    tag: "serving",
    query: s.ServingQuerySchema,
    response: s.ServingSeriesSchema,
  },
  daemonHealth: {
    method: "get",
    path: "/daemon/health",
    summary: "The daemon's leader and heartbeat, each trigger's last tick and lag, queued and running runs",
    tag: "daemon",
    response: s.DaemonHealthSchema,
  },
  workers: {
    method: "get",
    path: "/workers",
    summary:
      "Per queue of the queue executor: job counts, the workers listed with their slots, the tasks they hold now " +
      "with claim and heartbeat ages; without a queue executor, no queues and a note saying so",
    tag: "workers",
    query: s.WorkersQuerySchema,
    response: s.WorkersOverviewSchema,
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof ROUTES;

/** `/runs/{run}` -> `/runs/:run`, Hono's syntax. */
export function honoPath(path: string): string {
  return API_PREFIX + path.replace(/\{(\w+)\}/g, ":$1");
}
