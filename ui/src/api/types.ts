/**
 * The shapes the UI reads from /api/v1: inferred from the API's zod schemas (type-only, nothing of
 * the server is bundled), so a field renamed there fails the UI's type check here.
 */
import type { z } from "zod";
import type * as S from "../../../src/api/schemas.js";

export type ErrorInfo = z.infer<typeof S.ErrorInfoSchema>;
/** An error response's `error`: code, message, hint and fields such as an ambiguous run prefix's matches. */
export type ApiErrorBody = z.infer<typeof S.ErrorResponseSchema>["error"];
export type AmbiguousRunMatch = NonNullable<ApiErrorBody["matches"]>[number];
export type RunRecord = z.infer<typeof S.RunSchema>;
export type RunStatus = z.infer<typeof S.RunStatusSchema>;
export type RunPage = z.infer<typeof S.RunPageSchema>;
export type StepRunRecord = z.infer<typeof S.StepRunSchema>;
export type AttemptRecord = z.infer<typeof S.AttemptSchema>;
export type StepDetail = z.infer<typeof S.StepDetailSchema>;
export type RunDetail = z.infer<typeof S.RunDetailSchema>;
export type RunOverview = z.infer<typeof S.RunOverviewSchema>;
export type StepStateView = z.infer<typeof S.StepStateSchema>;
export type LogLine = z.infer<typeof S.LogLineSchema>;
export type LogPage = z.infer<typeof S.LogPageSchema>;
export type Why = z.infer<typeof S.WhySchema>;
export type RunOutputs = z.infer<typeof S.RunOutputsSchema>;
export type LaunchRequest = z.infer<typeof S.LaunchRequestSchema>;
export type LaunchResponse = z.infer<typeof S.LaunchResponseSchema>;
export type RunActionResponse = z.infer<typeof S.RunActionResponseSchema>;
export type PipelineSummary = z.infer<typeof S.PipelineSummarySchema>;
export type PipelineList = z.infer<typeof S.PipelineListSchema>;
export type PipelineGraph = z.infer<typeof S.PipelineGraphSchema>;
export type PipelineParams = z.infer<typeof S.PipelineParamsSchema>;
export type Plan = z.infer<typeof S.PlanSchema>;
export type RunGrid = z.infer<typeof S.RunGridSchema>;
export type Tick = z.infer<typeof S.TickSchema>;
export type TriggerView = z.infer<typeof S.TriggerViewSchema>;
export type TriggerList = z.infer<typeof S.TriggerListSchema>;
export type TickList = z.infer<typeof S.TickListSchema>;
export type Preview = z.infer<typeof S.PreviewSchema>;
export type ArtifactLineage = z.infer<typeof S.ArtifactLineageSchema>;
export type LineageNode = S.LineageNode;
export type DataReportSummary = z.infer<typeof S.DataReportSummarySchema>;
export type DataReportList = z.infer<typeof S.DataReportListSchema>;
export type DataReport = z.infer<typeof S.DataReportSchema>;
export type GateVerdict = z.infer<typeof S.GateVerdictSchema>;
export type ModelSummary = z.infer<typeof S.ModelSummarySchema>;
export type ModelList = z.infer<typeof S.ModelListSchema>;
export type ModelVersion = z.infer<typeof S.ModelVersionSchema>;
export type ModelDetail = z.infer<typeof S.ModelDetailSchema>;
export type VersionDetail = z.infer<typeof S.VersionDetailSchema>;
export type AliasEvent = z.infer<typeof S.AliasEventSchema>;
export type ModelLineage = z.infer<typeof S.ModelLineageSchema>;
export type AliasChangeResponse = z.infer<typeof S.AliasChangeResponseSchema>;
export type ServingSeries = z.infer<typeof S.ServingSeriesSchema>;
export type DaemonHealth = z.infer<typeof S.DaemonHealthSchema>;
export type ServerInfo = z.infer<typeof S.ServerInfoSchema>;
export type LiveEvent = z.infer<typeof S.LiveEventSchema>;
export type RunMetrics = z.infer<typeof S.RunMetricsSchema>;
export type MetricSeries = z.infer<typeof S.MetricSeriesSchema>;
export type RunComparison = z.infer<typeof S.RunComparisonSchema>;
export type RunSummaryPage = z.infer<typeof S.RunSummaryPageSchema>;
export type RunSummary = RunSummaryPage["runs"][number];
export type TrialSetList = z.infer<typeof S.TrialSetListSchema>;

/** A JSON Schema node, as much of it as the launch form reads. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** Drift report columns as the data library writes them (a report's `report` field). */
export interface StatOutcome {
  value: number | null;
  threshold: number | null;
  breachWhen: "above" | "below";
  action: string | null;
  verdict: string;
}

export interface ColumnDrift {
  name: string;
  kind: "numeric" | "categorical";
  stats: Record<string, StatOutcome>;
  ks?: { statistic: number; pValue: number };
  categories?: { newCount: number; vanishedCount: number; newExamples: string[]; vanishedExamples: string[] };
  chart?: {
    kind: "histogram" | "categories";
    edges?: number[];
    labels?: string[];
    reference: number[];
    current: number[];
  };
  verdict: string;
}
/** GET /workers: per queue of the queue executor, its counts, workers and running tasks. */
export type WorkersOverview = z.infer<typeof S.WorkersOverviewSchema>;
export type QueueOverview = WorkersOverview["queues"][number];
