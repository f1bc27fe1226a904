/**
 * The engine's query API: runs (filtered, paginated by cursor), one run in detail, step logs,
 * artifacts and lineage, and the registry's models, versions, aliases and history. The CLI, the
 * daemon and the HTTP API all read through it, so none of them holds logic the others lack.
 */
import { didYouMean } from "../core/did-you-mean.js";
import { TrainyardError } from "../core/errors.js";
import { parseModelRef, type ModelRef } from "../core/model-ref.js";
import type { ArtifactRecord, MetadataStore, RunRecord } from "../store/metadata-store.js";
import type { RunStatus, StepRunRecord } from "../store/metadata-store.js";
import type { AliasEvent, ModelSummary, RegistryStore } from "../store/registry-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import { artifactLineage, modelLineage, type ArtifactLineage, type ModelLineage } from "./lineage-query.js";
import { modelDetail, versionDetail, type ModelDetail, type VersionDetail } from "./registry-views.js";
import { compareRuns, type RunComparison } from "./run-comparison.js";
import { searchTrials, summarizeRuns, type RunSummaryPage, type TrialSet } from "./experiment-views.js";
import { runDetail, runStepStates, type RunDetail, type RunStepStates } from "./run-detail.js";
import { runMetricSeries, runTags, type MetricFilter, type MetricSeries } from "./run-metrics.js";
import { reconcileRunStatus } from "./run-lease.js";
import { requireRun } from "./require-run.js";
import { artifactReports, stepReports, type FoundReport } from "./report-files.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { readStepLog, type LogRun } from "./step-log-reader.js";
import { dataReport, listDataReports, type DataReportQuery, type DataReportSummary } from "./data-reports.js";
import {
  logFrom,
  logPage,
  runGrid,
  runOutputs,
  type NumberedLogLine,
  type RunGrid,
  type RunOutput,
} from "./run-views.js";

export interface QuerySources {
  home: string;
  metadata: MetadataStore;
  registry: RegistryStore;
  io: ArtifactIO;
  /** Where workers' long logs have copies (see LogCopies). */
  artifacts?: Pick<ArtifactStore, "logCopies">;
}

export interface RunQuery {
  pipeline?: string;
  status?: RunStatus;
  /** A trigger ("schedule:nightly") or a kind of trigger ("schedule"). */
  trigger?: string;
  /** @default 20 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface RunPage {
  /** Newest first. */
  runs: RunRecord[];
  /** Pass as `cursor` for the next (older) page; absent on the last page. */
  nextCursor?: string;
}

export interface StepLogQuery {
  attempt?: number;
  /** A map step's item; without it, a map step's log is its items' logs, each line labelled "[i] ". */
  item?: number;
}

/** Consecutive log lines of one attempt and stream; `label` names the map item they came from. */
export interface StepLogChunk extends LogRun {
  label: string;
}

export interface ArtifactLineageView extends ArtifactLineage {
  /** Step runs that read the artifact. */
  readBy: Array<{ stepRunId: string; stepId: string; name: string }>;
}

/** Where runs were paged up to: the creation time of the last run and the runs already seen at it. */
interface Cursor {
  t: number;
  seen: string[];
}

export class TrainyardQuery {
  constructor(private readonly src: QuerySources) {}

  /**
   * Runs newest first, one page at a time. A "running" run whose owner is gone is recorded
   * "interrupted" on the way, so a killed run never reads "running" for ever.
   */
  async listRuns(q: RunQuery = {}): Promise<RunPage> {
    const { metadata } = this.src;
    for (const run of await metadata.listRuns({ pipeline: q.pipeline, status: "running", limit: 1_000 })) {
      await reconcileRunStatus(metadata, run);
    }
    const limit = Math.max(1, q.limit ?? 20);
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const seen = new Set(cursor?.seen);
    const filter = { pipeline: q.pipeline, status: q.status, trigger: q.trigger, createdAtMost: cursor?.t };
    const fetched = await metadata.listRuns({ ...filter, limit: limit + seen.size + 1 });
    const fresh = fetched.filter((r) => !seen.has(r.id));
    const runs = fresh.slice(0, limit);
    if (fresh.length <= limit) return { runs };
    const last = runs[runs.length - 1];
    const sameTime = runs.filter((r) => r.createdAt === last.createdAt).map((r) => r.id);
    const carried = cursor && cursor.t === last.createdAt ? cursor.seen : [];
    return { runs, nextCursor: encodeCursor({ t: last.createdAt, seen: [...carried, ...sameTime] }) };
  }

  /**
   * A run by id or unique id prefix, its status reconciled as in `listRuns`; undefined when none
   * matches, RUN_AMBIGUOUS when a prefix matches several.
   */
  async run(idOrPrefix: string): Promise<RunRecord | undefined> {
    const run = await this.src.metadata.getRun(idOrPrefix);
    return run && reconcileRunStatus(this.src.metadata, run);
  }

  /** A run with its steps, attempts, cache decisions, gate verdicts and trigger; NOT_FOUND if unknown. */
  async runDetail(idOrPrefix: string): Promise<RunDetail> {
    return runDetail(this.src, await this.requireRun(idOrPrefix));
  }

  /** A run with its steps' states only (what a live view redraws); NOT_FOUND if unknown. */
  async runStepStates(idOrPrefix: string): Promise<RunStepStates> {
    return runStepStates(this.src, await this.requireRun(idOrPrefix));
  }

  /** A step run of a run: `step` or `step[item]`; NOT_FOUND naming what exists. */
  async stepRun(runIdOrPrefix: string, stepId: string, item?: number): Promise<StepRunRecord> {
    const run = await this.requireRun(runIdOrPrefix);
    const id = `${run.id}:${stepId}${item !== undefined ? `[${item}]` : ""}`;
    const sr = await this.src.metadata.getStepRun(id);
    if (sr) return sr;
    const what = `step "${stepId}"${item !== undefined ? ` item ${item}` : ""}`;
    // A step the run's pipeline does not have, told apart from one the run has not reached (yet).
    if (run.steps && !run.steps.includes(stepId))
      throw new TrainyardError(
        "NOT_FOUND",
        `run ${run.id} (pipeline ${run.pipeline}) has no step "${stepId}"${didYouMean(stepId, run.steps)}`,
        { runId: run.id, step: stepId, hint: `its steps: ${run.steps.join(", ")}` },
      );
    const hint = "see the steps with `trainyard show <run>`";
    throw new TrainyardError("NOT_FOUND", `run ${run.id} has no ${what}`, { runId: run.id, step: stepId, hint });
  }

  /** A step's log, attempt by attempt, from its log files or the database (a map step's: its items', labelled). */
  async *stepLog(runIdOrPrefix: string, stepId: string, q: StepLogQuery = {}): AsyncGenerator<StepLogChunk> {
    const sr = await this.stepRun(runIdOrPrefix, stepId, q.item);
    const { metadata } = this.src;
    // A map step's own record has no output: its items' logs stand for it.
    const all = q.item === undefined && !sr.attempts ? await metadata.listStepRuns(sr.runId) : [];
    const items = all.filter((s) => s.stepId === stepId && s.itemIndex >= 0);
    const sources = items.length
      ? items.map((it) => ({ id: it.id, label: `[${it.itemIndex}] ` }))
      : [{ id: sr.id, label: "" }];
    for (const source of sources) {
      const runs = readStepLog(this.src, sr.runId, source.id, q.attempt);
      for await (const run of runs) yield { ...run, label: source.label };
    }
  }

  /**
   * A run's metric series, per step (and map item) and metric, each with its points, final and
   * best value (best by the metric's goal); a reused step shows the metrics it reused.
   */
  async metrics(runIdOrPrefix: string, filter: MetricFilter = {}): Promise<MetricSeries[]> {
    return runMetricSeries(this.src.metadata, await this.requireRun(runIdOrPrefix), filter);
  }

  /** A run's tags (ctx.tag, or "tag" lines in $TRAINYARD_METRICS); the last value of a key wins. */
  async tags(runIdOrPrefix: string): Promise<Record<string, string>> {
    return runTags(this.src.metadata, await this.requireRun(runIdOrPrefix));
  }

  /** Runs side by side: params, final metrics and tags, the rows where they differ first. */
  async compareRuns(runIdsOrPrefixes: string[]): Promise<RunComparison> {
    if (runIdsOrPrefixes.length < 2) {
      throw new TrainyardError("USAGE", `comparing runs needs two runs or more, got ${runIdsOrPrefixes.length}`, {
        hint: "name the runs to compare, e.g. `trainyard runs compare <run> <run>`; list them with `trainyard runs`",
      });
    }
    const runs = [];
    for (const id of runIdsOrPrefixes) runs.push(await this.requireRun(id));
    return compareRuns(this.src.metadata, runs);
  }

  /** A pipeline's runs, newest first and paged as `listRuns`, each with its params and final metrics. */
  async runSummaries(pipeline: string, q: Omit<RunQuery, "pipeline"> = {}): Promise<RunSummaryPage> {
    return summarizeRuns(this.src.metadata, pipeline, await this.listRuns({ ...q, pipeline }));
  }

  /** A run's search trials: each map step's items with their params and recorded scores. */
  async searchTrials(runIdOrPrefix: string): Promise<TrialSet[]> {
    return searchTrials(this.src, await this.requireRun(runIdOrPrefix));
  }

  /** An artifact by digest or unique prefix (6+ characters); NOT_FOUND if unknown. */
  async artifact(digestOrPrefix: string): Promise<ArtifactRecord> {
    const art = await this.src.metadata.getArtifact(digestOrPrefix);
    if (art) return art;
    throw new TrainyardError("NOT_FOUND", `no artifact "${digestOrPrefix}" in ${this.src.home}`, {
      hint: "digests are printed by `trainyard show <run> --json`; a unique prefix of 6+ characters is enough",
    });
  }

  /** The HTML reports behind an artifact (digest or unique prefix); NOT_FOUND when it holds none. */
  async artifactReports(digestOrPrefix: string): Promise<FoundReport[]> {
    return artifactReports(this.src, await this.artifact(digestOrPrefix));
  }

  /** The HTML reports a step of a run wrote, named `<step>-<kind>.html`; NOT_FOUND naming the step when none. */
  async stepReports(runIdOrPrefix: string, stepId: string): Promise<{ runId: string; reports: FoundReport[] }> {
    const sr = await this.stepRun(runIdOrPrefix, stepId);
    return { runId: sr.runId, reports: await stepReports(this.src, sr, stepId) };
  }

  /** Who wrote an artifact, from what, back to the raw inputs; and who read it. */
  async artifactLineage(digestOrPrefix: string): Promise<ArtifactLineageView> {
    const art = await this.artifact(digestOrPrefix);
    const tree = await artifactLineage(this.src, art.digest);
    const edges = await this.src.metadata.lineageOf(art.digest);
    const readers = edges.filter((e) => e.direction === "in");
    const readBy = readers.map((e) => ({ stepRunId: e.stepRunId, stepId: e.stepId, name: e.name }));
    return { ...tree, readBy };
  }

  /** A step's log lines from `offset` (numbered across attempts), at most `limit` of them. */
  async stepLogPage(
    runIdOrPrefix: string,
    stepId: string,
    q: StepLogQuery & { offset?: number; limit?: number } = {},
  ): Promise<{ lines: NumberedLogLine[]; nextOffset: number }> {
    return logPage(this.stepLog(runIdOrPrefix, stepId, q), q.offset ?? 0, q.limit ?? 10_000);
  }

  /** A step's log from line `offset` on, streamed (what a follower reads at each look); see logFrom. */
  stepLogFrom(runIdOrPrefix: string, stepId: string, q: StepLogQuery & { offset: number }) {
    return logFrom(this.stepLog(runIdOrPrefix, stepId, q), q.offset);
  }

  /** The runs x steps history of a pipeline's newest runs. */
  runGrid(pipeline: string, limit = 100): Promise<RunGrid> {
    return runGrid(this.src.metadata, pipeline, limit);
  }

  /** A run's step outputs, small JSON values inlined; NOT_FOUND if unknown. */
  async runOutputs(idOrPrefix: string): Promise<{ runId: string; outputs: RunOutput[] }> {
    const run = await this.requireRun(idOrPrefix);
    return { runId: run.id, outputs: await runOutputs(this.src, run.id) };
  }

  /** Pipelines that have run here, newest first, with the module each last ran from. */
  pipelines(): Promise<Array<{ name: string; modulePath: string; updatedAt: number }>> {
    return this.src.metadata.listPipelines();
  }

  /** Profiles, drift results and contract checks in the step outputs of recent runs. */
  dataReports(q: DataReportQuery = {}): Promise<DataReportSummary[]> {
    return listDataReports(this.src, q);
  }

  /** One data report in full, named by run, step and index. */
  dataReport(runIdOrPrefix: string, stepId: string, index: number) {
    return dataReport(this.src, runIdOrPrefix, stepId, index);
  }

  models(): Promise<ModelSummary[]> {
    return this.src.registry.listModels();
  }

  /** One model with its versions, pins and alias history; NOT_FOUND if unknown. */
  model(name: string): Promise<ModelDetail> {
    return modelDetail(this.src.registry, name);
  }

  /** `name@3`, `name@production`, or `name` (production, else the latest), with its aliases. */
  modelVersion(ref: string | ModelRef): Promise<VersionDetail> {
    return versionDetail(this.src.registry, typeof ref === "string" ? parseModelRef(ref) : ref);
  }

  /** Which data, code, params, run and gates made a model version. */
  modelLineage(ref: string | ModelRef): Promise<ModelLineage> {
    return modelLineage(this.src, typeof ref === "string" ? parseModelRef(ref) : ref);
  }

  /** Moves of a model's aliases (or of one alias), oldest first. */
  aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    return this.src.registry.aliasHistory(model, alias);
  }

  /** A run as `run` finds it: NOT_FOUND when nothing matches, RUN_AMBIGUOUS when a prefix matches several. */
  async requireRun(idOrPrefix: string, hint?: string): Promise<RunRecord> {
    const run = await requireRun(this.src.metadata, idOrPrefix, { where: this.src.home, hint });
    return reconcileRunStatus(this.src.metadata, run);
  }
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Cursor;
    if (typeof c.t === "number" && Array.isArray(c.seen) && c.seen.every((s) => typeof s === "string")) return c;
  } catch {
    /* reported below */
  }
  const hint = "pass the nextCursor of a previous page unchanged";
  throw new TrainyardError("USAGE", `"${text}" is not a run cursor`, { hint });
}
