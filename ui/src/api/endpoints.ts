/** Every /api/v1 path the UI calls, in one place (the API's route table is the source). */
import { pathOf } from "../router";
import { queryString } from "./client";

const e = encodeURIComponent;

/** A trigger's name is `<pipeline>/<name>`: two path segments. */
function triggerPath(trigger: string): string {
  const at = trigger.indexOf("/");
  return `/triggers/${e(trigger.slice(0, at))}/${e(trigger.slice(at + 1))}`;
}

export const endpoints = {
  info: () => "",
  health: () => "/daemon/health",
  pipelines: () => "/pipelines",
  graph: (pipeline: string) => `/pipelines/${e(pipeline)}/graph`,
  params: (pipeline: string) => `/pipelines/${e(pipeline)}/params`,
  plan: (pipeline: string) => `/pipelines/${e(pipeline)}/plan`,
  grid: (pipeline: string, limit = 30) => `/pipelines/${e(pipeline)}/grid${queryString({ limit })}`,
  runs: (q: { pipeline?: string; status?: string; trigger?: string; limit?: number; cursor?: string } = {}) =>
    `/runs${queryString(q)}`,
  launch: () => "/runs",
  run: (id: string) => `/runs/${e(id)}`,
  runOverview: (id: string, q: { graph?: boolean } = {}) => `/runs/${e(id)}/overview${queryString(q)}`,
  runStep: (run: string, step: string) => `/runs/${e(run)}/steps/${e(step)}`,
  runEvents: (id: string) => `/runs/${e(id)}/events`,
  runAction: (id: string, action: "cancel" | "resume" | "rerun") => `/runs/${e(id)}/${action}`,
  stepLogs: (run: string, step: string, q: { attempt?: number; item?: number; offset?: number; limit?: number } = {}) =>
    `/runs/${e(run)}/steps/${e(step)}/logs${queryString(q)}`,
  why: (run: string, step: string) => `/runs/${e(run)}/steps/${e(step)}/why`,
  runMetrics: (run: string, q: { step?: string; metric?: string; stepsOnly?: boolean } = {}) =>
    `/runs/${e(run)}/metrics${queryString(q)}`,
  runTrials: (run: string) => `/runs/${e(run)}/trials`,
  compare: () => "/compare",
  pipelineRuns: (pipeline: string, q: { limit?: number; cursor?: string; status?: string } = {}) =>
    `/pipelines/${e(pipeline)}/runs${queryString(q)}`,
  triggers: () => "/triggers",
  ticks: (trigger: string, limit = 50) => `${triggerPath(trigger)}/ticks${queryString({ limit })}`,
  pause: (trigger: string, paused: boolean) => `${triggerPath(trigger)}/${paused ? "pause" : "unpause"}`,
  preview: (trigger: string) => `${triggerPath(trigger)}/preview`,
  models: () => "/models",
  model: (name: string) => `/models/${e(name)}`,
  version: (name: string, version: string | number) => `/models/${e(name)}/versions/${e(String(version))}`,
  modelLineage: (name: string, version: string | number) => `/models/${e(name)}/versions/${e(String(version))}/lineage`,
  aliasHistory: (name: string, alias?: string) => `/models/${e(name)}/aliases/history${queryString({ alias })}`,
  promote: (name: string) => `/models/${e(name)}/promote`,
  rollback: (name: string) => `/models/${e(name)}/rollback`,
  unpin: (name: string) => `/models/${e(name)}/unpin`,
  dataReports: (q: { pipeline?: string; kind?: string; run?: string; limit?: number } = {}) =>
    `/data/reports${queryString(q)}`,
  dataReport: (run: string, step: string, index: number) => `/data/reports/${e(run)}/${e(step)}/${index}`,
  report: (digest: string) => `/reports/${e(digest)}`,
  artifactLineage: (digest: string) => `/artifacts/${e(digest)}/lineage`,
  serving: (model: string, alias: string, q: { windowMs?: number; since?: number } = {}) =>
    `/serving/${e(model)}/${e(alias)}/series${queryString(q)}`,
  workers: () => "/workers",
};

/** In-app links (deep links), beside the API paths they show. */
export const links = {
  run: (id: string) => pathOf("runs", id),
  step: (run: string, step: string, q: Record<string, string | number | undefined> = {}) =>
    pathOf("runs", run, "steps", step) + queryString(q),
  logLine: (run: string, step: string, offset: number, attempt?: number) =>
    pathOf("runs", run, "steps", step) + queryString({ tab: "logs", attempt }) + `#L${offset}`,
  launch: (pipeline?: string) => (pipeline ? pathOf("launch", pipeline) : "/launch"),
  trigger: (trigger: string) => pathOf("triggers", ...trigger.split(/\/(.*)/s).slice(0, 2)),
  model: (name: string) => pathOf("models", name),
  version: (name: string, version: number | string) => pathOf("models", name, "versions", version),
  dataReport: (run: string, step: string, index: number) => pathOf("data", "reports", run, step, index),
  serving: (model: string, alias: string) => pathOf("serving", model, alias),
  compare: (q: { pipeline?: string; runs?: string[]; diff?: boolean }) =>
    "/compare" + queryString({ pipeline: q.pipeline, runs: q.runs?.join(","), diff: q.diff ? 1 : undefined }),
};
