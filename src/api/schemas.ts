/**
 * The zod schemas of every request and response of the HTTP API (`/api/v1`). The route table
 * (routes.ts), the OpenAPI document and the web UI's types all come from these, so a field
 * changes in one place. Records the engine returns as they are stored are loose objects: a new
 * stored field is served without a schema change, and the fields named here are guaranteed.
 */
import { z } from "zod";

const millis = z.number().describe("milliseconds since the Unix epoch");
const jsonRecord = z.record(z.string(), z.unknown());

// ---------------------------------------------------------------- errors

export const ErrorInfoSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  name: z.string().optional(),
  hint: z.string().optional(),
  fields: jsonRecord.optional(),
});

/** Every error response: the CLI's code, message and hint, plus the fields naming where. */
export const ErrorResponseSchema = z.object({
  error: z.looseObject({
    code: z.string().describe("a stable code from the CLI's catalog, e.g. NOT_FOUND, PARAM_INVALID"),
    message: z.string(),
    hint: z.string().optional(),
    runId: z.string().optional(),
    step: z.string().optional(),
    param: z.string().optional(),
    matchCount: z.number().optional().describe("RUN_AMBIGUOUS: how many runs the prefix matched"),
    matches: z
      .array(
        z.looseObject({
          id: z.string(),
          pipeline: z.string(),
          status: z.string(),
          startedAt: millis,
          uniquePrefix: z.string().describe("the shortest prefix that names this run alone"),
        }),
      )
      .optional()
      .describe("RUN_AMBIGUOUS: the newest runs the prefix matched (at most five)"),
  }),
});

// ---------------------------------------------------------------- runs

export const RunStatusSchema = z.enum([
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "rejected",
  "interrupted",
]);
export const StepStatusSchema = z.enum([
  "pending",
  "running",
  "succeeded",
  "failed",
  "rejected",
  "skipped",
  "cancelled",
  "interrupted",
]);

export const RunSchema = z.looseObject({
  id: z.string(),
  pipeline: z.string(),
  modulePath: z.string(),
  params: jsonRecord,
  profile: z.string().optional(),
  trigger: z.string().describe('what started it: "manual", "schedule:nightly", "api", ...'),
  status: RunStatusSchema,
  codeVersion: z.string(),
  createdAt: millis,
  startedAt: millis.optional(),
  finishedAt: millis.optional(),
  error: ErrorInfoSchema.optional(),
  options: jsonRecord,
  steps: z.array(z.string()).optional().describe("the pipeline's step ids as the run planned them"),
  pid: z.number().optional(),
});

export const RunListQuerySchema = z.object({
  pipeline: z.string().optional(),
  status: RunStatusSchema.optional(),
  trigger: z.string().optional().describe('a trigger ("schedule:nightly") or a kind ("schedule")'),
  limit: z.coerce.number().int().min(1).max(500).optional().describe("default 20"),
  cursor: z.string().optional().describe("nextCursor of the previous page"),
});

export const RunPageSchema = z.object({
  runs: z.array(RunSchema).describe("newest first"),
  nextCursor: z.string().optional().describe("absent on the last page"),
});

export const StepRunSchema = z.looseObject({
  id: z.string(),
  runId: z.string(),
  stepId: z.string(),
  itemIndex: z.number().describe("-1 for a step (or a map step's parent), 0.. for map items"),
  status: StepStatusSchema,
  cacheKey: z.string().optional(),
  cached: z.boolean(),
  cachedFrom: z.string().optional(),
  attempts: z.number(),
  startedAt: millis.optional(),
  finishedAt: millis.optional(),
  durationMs: z.number().optional(),
  outputDigest: z.string().optional(),
  error: ErrorInfoSchema.optional(),
  reason: z.string().optional(),
});

export const AttemptSchema = z.looseObject({
  stepRunId: z.string(),
  attempt: z.number(),
  status: z.enum(["running", "succeeded", "failed", "rejected", "cancelled", "interrupted"]),
  startedAt: millis,
  finishedAt: millis.optional(),
  error: ErrorInfoSchema.optional(),
});

export const CacheDecisionSchema = z.object({
  decision: z.enum(["hit", "computed", "not run"]),
  from: z.string().optional(),
  reason: z.string().optional(),
});

export const StepDetailSchema = StepRunSchema.extend({
  cache: CacheDecisionSchema,
  attemptRecords: z.array(AttemptSchema),
  itemRecords: z.array(StepRunSchema),
});

export const GateVerdictViewSchema = z.looseObject({ gate: z.string(), status: z.string(), message: z.string() });

export const RunDetailSchema = z.object({
  run: RunSchema,
  trigger: z.object({ kind: z.string(), name: z.string().optional(), text: z.string() }),
  owner: z.object({ process: z.string(), heartbeatAt: millis }).optional(),
  stepDetails: z.array(StepDetailSchema),
  gates: z.array(z.object({ step: z.string(), verdicts: z.array(GateVerdictViewSchema) })),
  guardNote: z.string().optional(),
});

export const StepListSchema = z.object({ steps: z.array(StepDetailSchema) });
export const AttemptListSchema = z.object({ attempts: z.array(AttemptSchema) });

export const StepQuerySchema = z.object({ item: z.coerce.number().int().min(0).optional() });

export const LogQuerySchema = z.object({
  attempt: z.coerce.number().int().min(1).optional(),
  item: z.coerce.number().int().min(0).optional(),
  /** Lines to skip (the `nextOffset` of a previous page). */
  offset: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(100_000).optional().describe("default 10000"),
  follow: z.enum(["true", "false", "1", "0"]).optional().describe("stream as Server-Sent Events until the step ends"),
});

export const LogLineSchema = z.object({
  attempt: z.number(),
  ts: millis,
  stream: z.enum(["stdout", "stderr", "log"]),
  line: z.string(),
  /** Position of the line in the step's log (all attempts, in order): stable, so a reader resumes from it. */
  offset: z.number(),
});

export const LogPageSchema = z.object({
  lines: z.array(LogLineSchema),
  nextOffset: z.number().describe("pass as offset to read on"),
  done: z.boolean().describe("the step has ended: no further line will come"),
});

export const WhySchema = z.looseObject({
  runId: z.string(),
  step: z.string(),
  decision: z.enum(["cache hit", "ran", "skipped", "cancelled", "failed", "not run"]),
  reasons: z.array(z.string()),
  against: z.object({ runId: z.string(), stepRunId: z.string() }).optional(),
  items: z.array(z.object({ index: z.number(), decision: z.string(), reasons: z.array(z.string()) })).optional(),
});

export const RunOutputSchema = z.object({
  step: z.string(),
  item: z.number().optional(),
  digest: z.string(),
  kind: z.string().optional(),
  size: z.number().optional(),
  /** The value itself when it is a small JSON value (<= 64 KiB). */
  value: z.unknown().optional(),
});
export const RunOutputsSchema = z.object({ runId: z.string(), outputs: z.array(RunOutputSchema) });

/** `POST /api/v1/runs` (send an `Idempotency-Key` header: the same key is the same run, never two). */
export const LaunchRequestSchema = z.object({
  pipeline: z.string().min(1).describe("a known pipeline's name (see GET /pipelines)"),
  params: jsonRecord.optional().describe("typed values; validated by the pipeline's zod schema"),
  profile: z.string().optional(),
});

export const LaunchResponseSchema = z.object({
  runId: z.string(),
  pipeline: z.string(),
  /** False when the idempotency key had been used before: the earlier run is returned. */
  created: z.boolean(),
  /** False when the key was used before for a different request (nothing new was queued). */
  sameRequest: z.boolean(),
  resolvedParams: jsonRecord,
  /** Who starts the run: the daemon's queue, or this server when no daemon is running. */
  launchedBy: z.enum(["daemon", "api"]),
});

export const RunActionResponseSchema = z.object({
  runId: z.string(),
  action: z.enum(["cancel-requested", "dequeued", "resume-launched", "already-finished"]),
  message: z.string(),
});

// ---------------------------------------------------------------- pipelines

export const PipelineSummarySchema = z.object({
  name: z.string(),
  modulePath: z.string(),
  /** "module": given to `trainyard ui`; "runs": known from recorded runs. */
  source: z.enum(["module", "runs"]),
  lastRun: z.object({ id: z.string(), status: RunStatusSchema, createdAt: millis }).optional(),
});
export const PipelineListSchema = z.object({ pipelines: z.array(PipelineSummarySchema) });

export const GraphNodeSchema = z.object({
  id: z.string(),
  kind: z.string().describe("fn, command or map"),
  guard: z.boolean(),
  /** Upstream step ids. */
  needs: z.array(z.string()),
  rank: z.number().int().describe("longest path from a step without inputs: the column of a layered drawing"),
  order: z.number().int().describe("place within its rank, ordered by the mean place of its upstream steps"),
});
export const GraphEdgeSchema = z.object({ from: z.string(), to: z.string(), input: z.string() });
export const PipelineGraphSchema = z.object({
  pipeline: z.string(),
  modulePath: z.string(),
  /** Digest of the graph's shape: a client caches its layout by it. */
  digest: z.string(),
  nodes: z.array(GraphNodeSchema).describe("in topological order"),
  edges: z.array(GraphEdgeSchema),
});

/** A step's state as the run page's graph, list and timeline show it. */
export const StepStateSchema = z.object({
  stepId: z.string(),
  status: StepStatusSchema,
  cached: z.boolean(),
  attempts: z.number(),
  startedAt: millis.optional(),
  finishedAt: millis.optional(),
  durationMs: z.number().optional(),
  error: ErrorInfoSchema.optional(),
});

export const RunOverviewQuerySchema = z.object({
  graph: z.enum(["true", "false"]).optional().describe('"false" leaves the graph out (a live reload); default true'),
});

export const RunOverviewSchema = RunDetailSchema.omit({ stepDetails: true }).extend({
  steps: z.array(StepStateSchema).describe("top-level steps, in the order they were recorded"),
  graph: PipelineGraphSchema.optional().describe("absent when left out or when the module cannot be loaded"),
  graphError: ErrorInfoSchema.optional().describe("why the graph is absent, when it was asked for"),
});

export const PipelineParamsSchema = z.object({
  pipeline: z.string(),
  /** JSON Schema (draft 2020-12) of the params, from the pipeline's zod schema. */
  jsonSchema: jsonRecord,
  defaults: jsonRecord,
  /** Profile name -> the values it sets (pipeline and config profiles). */
  profiles: z.record(z.string(), jsonRecord),
});

export const PlanRequestSchema = z.object({
  params: jsonRecord.optional(),
  profile: z.string().optional(),
});
export const PlanSchema = z.object({
  pipeline: z.string(),
  params: jsonRecord,
  steps: z.array(
    z.looseObject({
      step: z.string(),
      action: z.enum(["run", "reuse", "depends"]).describe("depends: decided once the steps in waitsFor have run"),
      reasons: z.array(z.string()),
      waitsFor: z.array(z.string()).optional(),
      items: z.object({ total: z.number(), reused: z.number() }).optional(),
    }),
  ),
});

export const GridQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().describe("default 100"),
});
export const GridCellSchema = z.object({
  status: StepStatusSchema,
  cached: z.boolean(),
  durationMs: z.number().optional(),
  attempts: z.number(),
});
/** The runs x steps history of a pipeline: `cells[i]` belongs to `steps[i]`, null when the run has no such step. */
export const RunGridSchema = z.object({
  pipeline: z.string(),
  steps: z.array(z.string()),
  runs: z.array(
    z.object({
      id: z.string(),
      status: RunStatusSchema,
      trigger: z.string(),
      createdAt: millis,
      finishedAt: millis.optional(),
      cells: z.array(GridCellSchema.nullable()),
    }),
  ),
});

// ---------------------------------------------------------------- triggers

export const TickSchema = z.looseObject({
  trigger: z.string(),
  key: z.string(),
  kind: z.enum(["schedule", "sensor", "monitor", "manual", "api", "run-status"]),
  scheduledAt: millis,
  evaluatedAt: millis,
  status: z.enum(["requested", "skipped", "failed"]),
  reason: z.string(),
  event: z.unknown().optional(),
  error: ErrorInfoSchema.optional(),
  runIds: z.array(z.string()).optional(),
});

export const TriggerViewSchema = z.object({
  /** `<pipeline>/<name>`. */
  trigger: z.string(),
  pipeline: z.string(),
  name: z.string(),
  kind: z.string().optional().describe("schedule, sensor, monitor, run-status or manual; absent when not declared"),
  /** What it watches, in words (declared triggers of known modules). */
  what: z.string().optional(),
  next: z.string().optional(),
  nextTick: millis.optional(),
  timezone: z.string().optional(),
  paused: z.boolean(),
  evaluatedAt: millis.optional(),
  failures: z.number(),
  backoffUntil: millis.optional(),
  lastError: ErrorInfoSchema.optional(),
  lastTick: TickSchema.optional(),
});
export const TriggerListSchema = z.object({ triggers: z.array(TriggerViewSchema) });

export const TickQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().describe("default 50"),
  before: z.coerce.number().optional().describe("only ticks evaluated before this time (ms): the next page"),
});
export const TickListSchema = z.object({ trigger: z.string(), ticks: z.array(TickSchema) });

export const PauseResponseSchema = z.object({ trigger: z.string(), paused: z.boolean() });

export const PreviewRequestSchema = z.object({
  now: z.string().optional().describe("ISO 8601 time with Z or offset; default now"),
  since: z.string().optional(),
});
/** What `trainyard triggers preview --json` prints: the run requests the trigger would make now. */
export const PreviewSchema = z.looseObject({
  trigger: z.string(),
  kind: z.string(),
  now: z.string(),
});

// ---------------------------------------------------------------- artifacts, lineage, reports, data

export const ArtifactSchema = z.looseObject({
  digest: z.string(),
  kind: z.enum(["json", "file", "directory", "dataset", "model"]),
  size: z.number(),
  meta: jsonRecord,
  createdAt: millis,
  inline: z.boolean(),
});

export interface LineageNode {
  digest: string;
  kind?: string;
  size?: number;
  repeated?: boolean;
  producedBy?: {
    stepRunId: string;
    runId: string;
    stepId: string;
    inputs: Array<{ name: string; node: LineageNode }>;
  };
}
export const LineageNodeSchema: z.ZodType<LineageNode> = z.lazy(() =>
  z.object({
    digest: z.string(),
    kind: z.string().optional(),
    size: z.number().optional(),
    repeated: z.boolean().optional(),
    producedBy: z
      .object({
        stepRunId: z.string(),
        runId: z.string(),
        stepId: z.string(),
        inputs: z.array(z.object({ name: z.string(), node: LineageNodeSchema })),
      })
      .optional(),
  }),
);

/** An artifact's writer back to the raw inputs (a LineageNode), and the step runs that read it. */
export const ArtifactLineageSchema = z.object({
  digest: z.string(),
  kind: z.string().optional(),
  size: z.number().optional(),
  repeated: z.boolean().optional(),
  producedBy: z
    .object({
      stepRunId: z.string(),
      runId: z.string(),
      stepId: z.string(),
      inputs: z.array(z.object({ name: z.string(), node: LineageNodeSchema })),
    })
    .optional(),
  readBy: z.array(z.object({ stepRunId: z.string(), stepId: z.string(), name: z.string() })),
});

export const ArtifactValueSchema = z.object({ digest: z.string(), value: z.unknown() });

export const DataReportKindSchema = z.enum(["profile", "drift", "contract"]);
export const DataReportQuerySchema = z.object({
  pipeline: z.string().optional(),
  kind: DataReportKindSchema.optional(),
  run: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).optional().describe("runs to look through, default 20"),
});
export const DataReportSummarySchema = z.object({
  kind: DataReportKindSchema,
  runId: z.string(),
  pipeline: z.string(),
  step: z.string(),
  /** Which report of the step's output (a step may output several). */
  index: z.number(),
  /** The step output's digest (GET /reports/{digest} renders its HTML report, if any). */
  digest: z.string(),
  createdAt: millis,
  /** In words: rows and columns profiled, columns drifted, violations found. */
  summary: z.string(),
  /** Drift: columns whose drift passed its threshold; contract: whether it passed. */
  alert: z.boolean(),
});
export const DataReportListSchema = z.object({ reports: z.array(DataReportSummarySchema) });
/** One profile, drift or contract report as the data library produced it (kind "trainyard.profile", ...). */
export const DataReportSchema = DataReportSummarySchema.extend({ report: z.looseObject({ kind: z.string() }) });

// ---------------------------------------------------------------- registry

export const GateVerdictSchema = z.looseObject({
  gate: z.string(),
  status: z.enum(["pass", "fail", "no-baseline"]),
  kind: z.string().optional(),
  message: z.string().optional(),
  evidence: jsonRecord.optional(),
});

export const ModelSummarySchema = z.looseObject({
  name: z.string(),
  latestVersion: z.number(),
  versionCount: z.number(),
  aliases: z.record(z.string(), z.number()),
  createdAt: millis,
  updatedAt: millis,
});
export const ModelListSchema = z.object({ models: z.array(ModelSummarySchema) });

export const ModelVersionSchema = z.looseObject({
  model: z.string(),
  version: z.number(),
  artifactDigest: z.string(),
  runId: z.string().optional(),
  stepRunId: z.string().optional(),
  dataDigests: z.array(z.string()),
  referenceProfileDigest: z.string().optional(),
  params: jsonRecord,
  codeFingerprint: z.string().optional(),
  metrics: jsonRecord,
  gates: z.array(GateVerdictSchema),
  description: z.string().optional(),
  createdAt: millis,
});

export const AliasPinSchema = z.looseObject({
  by: z.string(),
  reason: z.string().optional(),
  at: millis,
  action: z.enum(["set", "rollback"]),
  replacedVersion: z.number().optional(),
});
export const AliasSchema = z.looseObject({
  model: z.string(),
  alias: z.string(),
  version: z.number(),
  actor: z.string(),
  updatedAt: millis,
  pin: AliasPinSchema.optional(),
});
export const AliasEventSchema = z.looseObject({
  id: z.number(),
  model: z.string(),
  alias: z.string(),
  action: z.enum(["set", "rollback", "delete", "unpin"]),
  fromVersion: z.number().optional(),
  toVersion: z.number().optional(),
  actor: z.string(),
  reason: z.string().optional(),
  forced: z.boolean(),
  pinned: z.boolean(),
  runId: z.string().optional(),
  trigger: z.string().optional(),
  user: z.string().optional(),
  at: millis,
});

export const ModelDetailSchema = ModelSummarySchema.extend({
  pins: z.array(AliasSchema),
  versions: z.array(ModelVersionSchema),
  history: z.array(AliasEventSchema).describe("oldest first"),
});
export const VersionDetailSchema = ModelVersionSchema.extend({ aliases: z.array(z.string()) });
export const AliasHistorySchema = z.object({ model: z.string(), events: z.array(AliasEventSchema) });
export const AliasHistoryQuerySchema = z.object({ alias: z.string().optional() });

export const ModelLineageSchema = z.looseObject({
  model: z.string(),
  version: z.number(),
  aliases: z.array(z.string()),
  params: jsonRecord,
  metrics: jsonRecord,
  gates: z.array(GateVerdictSchema),
  dataDigests: z.array(z.string()),
  artifact: LineageNodeSchema,
});

export const PromoteRequestSchema = z.object({
  version: z.number().int().min(1),
  alias: z.string().min(1),
  /** Required with force: an override of failed gates is recorded with why. */
  reason: z.string().max(2000).optional(),
  force: z.boolean().optional(),
});
export const RollbackRequestSchema = z.object({ alias: z.string().min(1), reason: z.string().max(2000).optional() });
export const UnpinRequestSchema = z.object({ alias: z.string().min(1), reason: z.string().min(1).max(2000) });

export const AliasChangeResponseSchema = z.object({
  alias: AliasSchema,
  /** Absent when the alias already pointed there (nothing changed). */
  event: AliasEventSchema.optional(),
  hooks: z.array(z.looseObject({ hook: z.string(), ok: z.boolean(), detail: z.string().optional() })),
});
export const UnpinResponseSchema = z.object({ event: AliasEventSchema });

// ---------------------------------------------------------------- serving, daemon

export const ServingQuerySchema = z.object({
  windowMs: z.coerce.number().int().min(1000).optional().describe("default 300000 (5 min)"),
  since: z.coerce.number().optional().describe("ms; default 24 h ago"),
  until: z.coerce.number().optional().describe("ms; default now"),
});
export const ServingWindowSchema = z.object({
  start: millis,
  end: millis,
  requests: z.number(),
  /** Latency percentiles of the logged predictions, in ms (absent in an empty window). */
  p50: z.number().optional(),
  p95: z.number().optional(),
  p99: z.number().optional(),
  /** Versions served in the window. */
  versions: z.array(z.number()),
});
export const ServingSeriesSchema = z.object({
  model: z.string(),
  alias: z.string(),
  windowMs: z.number(),
  windows: z.array(ServingWindowSchema).describe("oldest first"),
  /** The monitored metric per window, when a known pipeline declares a monitor on this alias. */
  monitor: z
    .object({
      trigger: z.string(),
      metric: z.string(),
      threshold: z.number(),
      direction: z.string(),
      windows: z.array(
        z.looseObject({
          start: millis,
          end: millis,
          served: z.number(),
          labelled: z.number(),
          value: z.number().optional(),
          counts: z.boolean(),
          breach: z.boolean().optional(),
          note: z.string().optional(),
        }),
      ),
    })
    .optional(),
});

export const DaemonHealthSchema = z.looseObject({
  at: millis,
  state: z.enum(["ok", "stale", "stopped"]),
  leader: z
    .looseObject({
      holder: z.string(),
      process: z.string(),
      heartbeatAt: millis,
      heartbeatAgeMs: z.number(),
      expiresAt: millis,
      since: millis,
    })
    .optional(),
  triggers: z.array(z.looseObject({ trigger: z.string(), paused: z.boolean(), failures: z.number() })),
  queued: z.array(z.looseObject({ runId: z.string(), pipeline: z.string(), trigger: z.string() })),
  running: z.array(z.looseObject({ runId: z.string(), pipeline: z.string(), trigger: z.string() })),
  problems: z.array(z.string()),
});

// ---------------------------------------------------------------- workers

export const WorkersQuerySchema = z.object({
  queue: z
    .string()
    .optional()
    .describe("queues to show, comma-separated (default: every queue with task fences, and default)"),
});
/**
 * Per queue: job counts, the workers listed with their slots, the tasks held now
 * (see src/distributed/queue-overview.ts).
 */
export const WorkersOverviewSchema = z.object({
  queueExecutor: z.boolean(),
  queueStore: z.string().optional(),
  lockMs: z.number().optional(),
  at: millis,
  queues: z.array(
    z.object({
      queue: z.string(),
      counts: z.object({ waiting: z.number(), active: z.number(), delayed: z.number(), failed: z.number() }),
      workers: z.array(
        z.object({
          label: z.string(),
          slots: z.number().int(),
          address: z.string().optional(),
          connectedSeconds: z.number().optional(),
        }),
      ),
      slots: z.number().int(),
      running: z.array(
        z.object({
          runId: z.string(),
          stepId: z.string(),
          itemIndex: z.number().int().optional(),
          stepRunId: z.string(),
          attemptId: z.string(),
          worker: z.string().optional(),
          claimAgeMs: z.number(),
          heartbeatAgeMs: z.number(),
          possiblyLost: z.boolean(),
        }),
      ),
      unattended: z.boolean(),
    }),
  ),
  problems: z.array(z.string()),
  note: z.string().optional(),
});

export const ServerInfoSchema = z.object({
  name: z.literal("trainyard"),
  apiVersion: z.literal("v1"),
  version: z.string(),
  readOnly: z.boolean(),
  /** Whether requests must carry the token (always when bound beyond loopback). */
  tokenRequired: z.boolean(),
  metadata: z.string().describe("the metadata backend: sqlite or postgres"),
});

// ---------------------------------------------------------------- live updates (Server-Sent Events)

/**
 * Events of `GET /runs/{id}/events` and `GET /events` (`event:` names the type, `data:` is JSON).
 * Ids are derived from stored state, so a client reconnecting with `Last-Event-ID` gets exactly
 * what it missed.
 */
export const RunStateEventSchema = z.object({
  type: z.literal("run"),
  runId: z.string(),
  pipeline: z.string(),
  status: RunStatusSchema,
  startedAt: millis.optional(),
  finishedAt: millis.optional(),
});
export const StepStateEventSchema = z.object({
  type: z.literal("step"),
  runId: z.string(),
  step: z.string(),
  item: z.number().optional(),
  status: StepStatusSchema,
  cached: z.boolean(),
  attempts: z.number(),
  startedAt: millis.optional(),
  finishedAt: millis.optional(),
  durationMs: z.number().optional(),
  error: ErrorInfoSchema.optional(),
});
export const LogEventSchema = z
  .object({ type: z.literal("log"), runId: z.string(), step: z.string() })
  .extend(LogLineSchema.shape);
export const TickEventSchema = z.object({ type: z.literal("tick"), tick: TickSchema });
export const LiveEventSchema = z.discriminatedUnion("type", [
  RunStateEventSchema,
  StepStateEventSchema,
  LogEventSchema,
  TickEventSchema,
]);

export type LiveEvent = z.infer<typeof LiveEventSchema>;
export type LaunchRequest = z.infer<typeof LaunchRequestSchema>;
export type LaunchResponse = z.infer<typeof LaunchResponseSchema>;
export type RunGrid = z.infer<typeof RunGridSchema>;
export type ServingSeries = z.infer<typeof ServingSeriesSchema>;
export type DataReportSummary = z.infer<typeof DataReportSummarySchema>;
export type TriggerView = z.infer<typeof TriggerViewSchema>;
export type PipelineGraph = z.infer<typeof PipelineGraphSchema>;
export * from "./experiment-schemas.js";
