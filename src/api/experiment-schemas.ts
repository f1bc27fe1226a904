/**
 * Schemas of experiment tracking's routes: a run's metric series and tags, runs compared side by
 * side, a pipeline's runs with final metrics (the compare picker) and a run's search trials.
 * Re-exported by schemas.ts, so the route table and the OpenAPI document see them as the others.
 */
import { z } from "zod";

const millis = z.number().describe("milliseconds since the Unix epoch");
const MetricGoalSchema = z.enum(["min", "max"]).describe("which way is better");
const RunStatus = z.enum(["queued", "running", "succeeded", "failed", "cancelled", "rejected", "interrupted"]);

export const MetricQuerySchema = z.object({
  step: z.string().optional().describe("only this step's series"),
  metric: z.string().optional().describe("only this metric's series"),
  stepsOnly: z.enum(["true", "false", "1", "0"]).optional().describe("true: leave out map items (search trials)"),
});

export const MetricValueSchema = z.object({
  value: z.number(),
  step: z.number().optional().describe("the training step or epoch, when recorded"),
  ts: millis,
});

export const MetricSeriesSchema = z.object({
  stepId: z.string(),
  itemIndex: z.number().describe("-1 for a step, 0.. for a map item (a search trial)"),
  name: z.string(),
  goal: MetricGoalSchema,
  points: z.array(MetricValueSchema).describe("in recording order"),
  final: z.number().describe("the last value recorded"),
  best: MetricValueSchema.describe("the best value by the goal, with its step"),
  reused: z.boolean().describe("the run reused the step: these are the metrics of fromStepRun"),
  fromStepRun: z.string(),
});

export const RunMetricsSchema = z.object({ runId: z.string(), series: z.array(MetricSeriesSchema) });

export const RunTagsSchema = z.object({ runId: z.string(), tags: z.record(z.string(), z.string()) });

export const CompareQuerySchema = z.object({
  runs: z.string().describe("run ids or unique prefixes, comma-separated (two or more)"),
});

export const CompareRequestSchema = z.object({
  runs: z.array(z.string()).min(2).max(500).describe("run ids or unique prefixes"),
});

export const RunComparisonSchema = z.object({
  runs: z.array(z.object({ id: z.string(), pipeline: z.string(), status: RunStatus, createdAt: millis })),
  rows: z
    .array(
      z.object({
        kind: z.enum(["param", "metric", "tag"]),
        key: z.string().describe("a param or tag name; a metric as step.name, or step[best].name for a map step"),
        measure: z
          .enum(["best", "final"])
          .optional()
          .describe("a metric row: each run's best value by the goal, or the last value it recorded"),
        values: z.array(z.unknown()).describe("one per run, in the order of runs; null where a run has none"),
        at: z
          .array(z.number().nullable())
          .optional()
          .describe("a metric row: the step or epoch each value was recorded at; null where none was given"),
        differs: z.boolean(),
        goal: MetricGoalSchema.optional(),
        best: z.number().optional().describe("a metric row: the index of the run with the best value"),
      }),
    )
    .describe("rows where the runs differ first; in each half params, then metrics, then tags"),
});

export const RunSummaryQuerySchema = z.object({
  status: RunStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().describe("default 100"),
  cursor: z.string().optional().describe("nextCursor of the previous page"),
});

export const RunSummaryPageSchema = z.object({
  pipeline: z.string(),
  runs: z
    .array(
      z.object({
        id: z.string(),
        pipeline: z.string(),
        status: RunStatus,
        trigger: z.string(),
        createdAt: millis,
        finishedAt: millis.optional(),
        params: z.record(z.string(), z.unknown()),
        metrics: z.record(z.string(), z.number()).describe("final value of each step's metric, keyed step.name"),
      }),
    )
    .describe("newest first"),
  goals: z.record(z.string(), MetricGoalSchema).describe("goal of each metric key on this page"),
  nextCursor: z.string().optional().describe("absent on the last page"),
});

export const TrialSetListSchema = z.object({
  runId: z.string(),
  searches: z.array(
    z.object({
      step: z.string().describe("the map step"),
      goals: z.record(z.string(), MetricGoalSchema),
      trials: z.array(
        z.object({
          item: z.number(),
          params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
          metrics: z.record(z.string(), z.number()),
        }),
      ),
    }),
  ),
});

export type MetricSeriesView = z.infer<typeof MetricSeriesSchema>;
export type RunComparisonView = z.infer<typeof RunComparisonSchema>;
export type RunSummaryPageView = z.infer<typeof RunSummaryPageSchema>;
export type TrialSetListView = z.infer<typeof TrialSetListSchema>;
