/**
 * The composition root: a `Trainyard` instance owns a home (metadata store + artifact store),
 * loads pipeline modules, and runs, resumes, plans and explains runs. Everything pluggable is
 * passed in, so tests and other deployments can swap backends. Planning, explaining and gc are
 * imported on first use: `run` is on the path of every no-change re-run, where start-up counts.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { crashPoint } from "../core/crash-point.js";
import { describeError, isTrainyardError, TrainyardError, type ErrorInfo } from "../core/errors.js";
import { compileGraph } from "../core/graph.js";
import { sha256 } from "../core/hash.js";
import { resolveParams } from "../core/params.js";
import type { Pipeline } from "../core/pipeline.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { FsArtifactStore } from "../store/fs-artifact-store.js";
import type { MetadataStore, RunRecord, RunStatus, StepRunRecord } from "../store/metadata-store.js";
import { SqliteMetadataStore } from "../store/sqlite-metadata-store.js";
import { ArtifactIO } from "./artifact-io.js";
import type { RunEvent } from "./events.js";
import { RunExecutor } from "./executor.js";
import type { GcOptions, GcResult } from "./gc.js";
import type { LogLimits } from "./step-log-files.js";
import { buildCodeContext, type CodeContext } from "./code-context.js";
import { loadConfigModule, loadPipelineModule, moduleCacheDir } from "./module-loader.js";
import { reapOrphans } from "./orphan-reaper.js";
import type { PlanResult } from "./planner.js";
import { acquireRunLease, reconcileRunStatus, type HeldRunLease } from "./run-lease.js";
import type { WhyResult } from "./why.js";

export interface TrainyardOptions {
  /** Where state lives. @default $TRAINYARD_HOME or ".trainyard" in the working directory */
  home?: string;
  /**
   * Metadata backend, by name or as an instance. @default the PostgreSQL database this process
   * already opened for the same home, else $TRAINYARD_METADATA_URL, else { kind: "sqlite" } at
   * <home>/metadata.db
   */
  metadata?: { kind: "sqlite"; file?: string } | { kind: "postgres"; url: string; schema?: string } | MetadataStore;
  /** Artifact backend, by name or as an instance. @default { kind: "fs" } at <home>/artifacts */
  artifacts?: { kind: "fs"; root?: string } | ArtifactStore;
}

export interface RunRequest {
  /** Typed param values (API callers, tests). */
  params?: Record<string, unknown>;
  /** Raw `--param k=v` strings, coerced to each param's declared type. */
  overrides?: Record<string, string>;
  profile?: string;
  /** @default the number of CPUs */
  concurrency?: number;
  /** Recompute every step (true) or the listed steps instead of reusing the cache. */
  force?: boolean | string[];
  /** @default "manual"; e.g. "schedule:nightly" for a run the daemon launched */
  trigger?: string;
  /** A run id fixed in advance (the daemon's queue); refused when a run with this id exists. @default a new id */
  runId?: string;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Caps of the run's log files (per step, per run). @default see LogLimits */
  logs?: Partial<LogLimits>;
}

export interface StepSummary {
  step: string;
  status: string;
  cached: boolean;
  attempts: number;
  durationMs?: number;
  items?: number;
  error?: ErrorInfo;
  /** Why a skipped or cancelled step did not run (e.g. "guard `drift` failed"). */
  reason?: string;
}

export interface RunResult {
  runId: string;
  pipeline: string;
  status: RunStatus;
  durationMs: number;
  steps: StepSummary[];
  error?: ErrorInfo;
}

export function resolveHome(home?: string): string {
  return resolve(home ?? process.env.TRAINYARD_HOME ?? ".trainyard");
}

export function newRunId(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

interface Loaded {
  pipeline: Pipeline<any>;
  modulePath: string;
  moduleDir: string;
  /** What step fingerprints cover beyond their own function text (module-loaded pipelines). */
  codeContext?: CodeContext;
  bundlePath?: string;
  codeVersion: string;
  configProfiles?: Record<string, Record<string, unknown>>;
}

export class Trainyard {
  readonly io: ArtifactIO;

  private constructor(
    readonly home: string,
    readonly metadata: MetadataStore,
    readonly artifacts: ArtifactStore,
  ) {
    this.io = new ArtifactIO(artifacts, metadata);
  }

  static async open(opts: TrainyardOptions = {}): Promise<Trainyard> {
    const home = resolveHome(opts.home);
    // Library steps that open the running home again (registry, deploy) land in the same database.
    const url = process.env.TRAINYARD_METADATA_URL;
    const spec = opts.metadata ?? postgresOfHome.get(home) ?? (url ? { kind: "postgres" as const, url } : undefined);
    if (spec && !("backend" in spec) && spec.kind === "postgres") postgresOfHome.set(home, spec);
    const metadata = await openMetadata(spec, home);
    const artifacts =
      opts.artifacts && "backend" in opts.artifacts ? opts.artifacts : new FsArtifactStore((opts.artifacts as { root?: string } | undefined)?.root ?? join(home, "artifacts"));
    return new Trainyard(home, metadata, artifacts);
  }

  /** Bundled pipeline modules: the user's cache, shared by every home (see moduleCacheDir). */
  get cacheDir(): string {
    this.moduleCache ??= moduleCacheDir(join(this.home, "cache"));
    return this.moduleCache;
  }

  private moduleCache?: string;

  get workRoot(): string {
    return join(this.home, "artifacts", "tmp");
  }

  /** Loads a pipeline module (or takes a pipeline built in this process) and its config profiles. */
  async load(target: string | Pipeline<any>): Promise<Loaded> {
    if (typeof target === "string") {
      const m = await loadPipelineModule(target, this.cacheDir);
      const moduleDir = dirname(m.modulePath);
      const config = await loadConfigModule(moduleDir, this.cacheDir);
      return { ...m, moduleDir, configProfiles: config?.profiles, codeContext: buildCodeContext(m.modulePath, m.sourceFiles) };
    }
    const modulePath = target.modulePath ?? join(process.cwd(), `${target.name}.pipeline`);
    const code = [...target.steps.values()].map((s) => `${s.id}:${s.run?.toString() ?? JSON.stringify(s.command?.run ?? "")}`).join("\n");
    return { pipeline: target, modulePath, moduleDir: dirname(modulePath), bundlePath: undefined, codeVersion: sha256(code) };
  }

  async run(target: string | Pipeline<any>, req: RunRequest = {}): Promise<RunResult> {
    const started = Date.now();
    const runId = req.runId ?? newRunId();
    // A fixed id is how a relaunch after a crash stays exactly-once: the second launch is refused.
    if (req.runId) await this.refuseExistingRun(req.runId);
    let loaded: Loaded | undefined;
    let lease: HeldRunLease | undefined;
    try {
      loaded = await this.load(target);
      const { pipeline } = loaded;
      const params = resolveParams(pipeline.name, pipeline.paramsSchema, pipeline.profiles as Record<string, Record<string, unknown>>, {
        profile: req.profile,
        configProfiles: loaded.configProfiles,
        overrides: req.overrides,
        values: req.params,
      });
      const graph = compileGraph(pipeline);
      const options = { concurrency: req.concurrency, force: req.force, profile: req.profile };
      const run: RunRecord = {
        id: runId,
        pipeline: pipeline.name,
        modulePath: loaded.modulePath,
        params,
        profile: req.profile,
        trigger: req.trigger ?? "manual",
        status: "running",
        codeVersion: loaded.codeVersion,
        createdAt: started,
        startedAt: started,
        options,
        pid: process.pid,
      };
      await this.metadata.upsertPipeline(pipeline.name, loaded.modulePath);
      // Owned from its first record on: a run that shows up "running" always has an owner to check.
      lease = await acquireRunLease(this.metadata, runId);
      await this.createRunOnce(run, req.runId !== undefined);
      return await this.execute(run, loaded, graph, req, undefined, lease);
    } catch (err) {
      // Failures before execution (module, params, graph) are still recorded as failed runs.
      const error = describeError(err);
      const name = loaded?.pipeline.name ?? (typeof target === "string" ? target : target.name);
      const existing = await this.metadata.getRun(runId);
      if (!existing) {
        await this.metadata.createRun({
          id: runId,
          pipeline: name,
          modulePath: loaded?.modulePath ?? (typeof target === "string" ? resolve(target) : ""),
          params: req.params ?? {},
          profile: req.profile,
          trigger: req.trigger ?? "manual",
          status: "failed",
          codeVersion: loaded?.codeVersion ?? "",
          createdAt: started,
          startedAt: started,
          finishedAt: Date.now(),
          error,
          options: { overrides: req.overrides },
        });
      }
      if (isTrainyardError(err)) Object.assign(err.fields, { runId });
      throw err;
    } finally {
      await lease?.release();
    }
  }

  private async refuseExistingRun(runId: string): Promise<void> {
    const existing = await this.metadata.getRun(runId);
    if (existing?.id !== runId) return;
    throw new TrainyardError("RUN_EXISTS", `run ${runId} already exists (${existing.status}); a run id is used once`, {
      runId,
      hint: existing.status === "succeeded" ? "nothing to do" : `continue it with \`trainyard resume ${runId}\``,
    });
  }

  /** Inserts the run; a concurrent launch of the same fixed id loses on the primary key and is refused. */
  private async createRunOnce(run: RunRecord, fixedId: boolean): Promise<void> {
    try {
      await this.metadata.createRun(run);
    } catch (err) {
      if (fixedId) await this.refuseExistingRun(run.id);
      throw err;
    }
  }

  /** Continues an interrupted or failed run, reusing every step that had succeeded in it. */
  async resume(runIdOrPrefix: string, req: Omit<RunRequest, "params" | "overrides" | "profile"> = {}): Promise<RunResult> {
    const run = await this.metadata.getRun(runIdOrPrefix);
    if (!run) throw new TrainyardError("NOT_FOUND", `no run "${runIdOrPrefix}" in ${this.home}`, { runId: runIdOrPrefix, hint: "list runs with `trainyard runs`" });
    if (run.status === "succeeded") {
      throw new TrainyardError("RUN_NOT_RESUMABLE", `run ${run.id} already succeeded`, { runId: run.id, hint: `start a new run with \`trainyard run ${run.modulePath}\`` });
    }
    const lease = await acquireRunLease(this.metadata, run.id);
    try {
      return await this.resumeOwned(run.id, lease, req);
    } finally {
      await lease.release();
    }
  }

  private async resumeOwned(
    runId: string,
    lease: HeldRunLease,
    req: Omit<RunRequest, "params" | "overrides" | "profile">,
  ): Promise<RunResult> {
    // Read again under the lease: the previous owner may have finished it meanwhile.
    const run = (await this.metadata.getRun(runId))!;
    if (run.status === "succeeded") {
      const hint = `start a new run with \`trainyard run ${run.modulePath}\``;
      throw new TrainyardError("RUN_NOT_RESUMABLE", `run ${run.id} already succeeded`, { runId: run.id, hint });
    }
    await reapOrphans(this.workRoot, run.id);
    const loaded = await this.load(run.modulePath);
    const graph = compileGraph(loaded.pipeline);
    const previous = new Map<string, StepRunRecord>();
    const interrupted: StepRunRecord[] = [];
    for (const s of await this.metadata.listStepRuns(run.id)) {
      previous.set(s.id, s);
      if (s.status === "running" || s.status === "pending") interrupted.push({ ...s, status: "interrupted", reason: "the orchestrating process stopped" });
    }
    if (interrupted.length) await this.metadata.saveStepRuns(interrupted);
    await this.metadata.updateRun(run.id, { status: "running", pid: process.pid, finishedAt: undefined, codeVersion: loaded.codeVersion });
    crashPoint("mid-resume");
    const opts = {
      concurrency: req.concurrency ?? (run.options.concurrency as number | undefined),
      force: req.force,
      trigger: "resume",
      signal: req.signal,
      onEvent: req.onEvent,
      logs: req.logs,
    };
    return this.execute({ ...run, status: "running" }, loaded, graph, opts, previous, lease);
  }

  private async execute(
    run: RunRecord,
    loaded: Loaded,
    graph: ReturnType<typeof compileGraph>,
    req: RunRequest,
    previous: Map<string, StepRunRecord> | undefined,
    lease: HeldRunLease,
  ): Promise<RunResult> {
    const signal = req.signal ? AbortSignal.any([req.signal, lease.signal]) : lease.signal;
    const executor = new RunExecutor(
      { metadata: this.metadata, io: this.io, workRoot: this.workRoot, home: this.home },
      { runId: run.id, pipeline: run.pipeline, graph, params: run.params, moduleDir: loaded.moduleDir, bundlePath: loaded.bundlePath, codeContext: loaded.codeContext },
      {
        concurrency: Math.max(1, req.concurrency ?? availableParallelism()),
        force: req.force,
        signal,
        onEvent: req.onEvent,
        previous,
        logs: req.logs,
      },
    );
    const status = await executor.execute();
    // The run's record now belongs to the process that took it over.
    if (lease.lost) throw lease.signal.reason;
    const steps = executor.summary();
    const failed = steps.find((s) => s.status === "failed") ?? steps.find((s) => s.status === "rejected");
    const finishedAt = Date.now();
    await this.metadata.updateRun(run.id, { status, finishedAt, error: failed?.error });
    return { runId: run.id, pipeline: run.pipeline, status, durationMs: finishedAt - (run.startedAt ?? run.createdAt), steps, error: failed?.error };
  }

  /**
   * Runs newest first, as `trainyard runs` lists them. A "running" run whose owner is gone is
   * recorded "interrupted" on the way, so a killed run never reads "running" for ever.
   */
  async listRuns(filter: { pipeline?: string; status?: RunStatus; limit?: number } = {}): Promise<RunRecord[]> {
    for (const run of await this.metadata.listRuns({ pipeline: filter.pipeline, status: "running", limit: 1_000 })) {
      await reconcileRunStatus(this.metadata, run);
    }
    return this.metadata.listRuns(filter);
  }

  /** A run by id or unique id prefix, with its status reconciled as in `listRuns`. */
  async getRun(idOrPrefix: string): Promise<RunRecord | undefined> {
    const run = await this.metadata.getRun(idOrPrefix);
    return run && reconcileRunStatus(this.metadata, run);
  }

  async plan(target: string | Pipeline<any>, req: Pick<RunRequest, "params" | "overrides" | "profile" | "force"> = {}): Promise<PlanResult> {
    const loaded = await this.load(target);
    const params = resolveParams(loaded.pipeline.name, loaded.pipeline.paramsSchema, loaded.pipeline.profiles as Record<string, Record<string, unknown>>, {
      profile: req.profile,
      configProfiles: loaded.configProfiles,
      overrides: req.overrides,
      values: req.params,
    });
    const { planRun } = await import("./planner.js");
    return planRun(this, compileGraph(loaded.pipeline), params, loaded.moduleDir, req.force, loaded.codeContext);
  }

  async why(runIdOrPrefix: string, stepId: string): Promise<WhyResult> {
    const { explainStep } = await import("./why.js");
    return explainStep(this, runIdOrPrefix, stepId);
  }

  async gc(opts: GcOptions = {}): Promise<GcResult> {
    const { collectGarbage } = await import("./gc.js");
    return collectGarbage(this, opts);
  }

  /** The output value of a step in a run, with local paths for its artifacts. */
  async output(runIdOrPrefix: string, stepId: string): Promise<unknown> {
    const run = await this.metadata.getRun(runIdOrPrefix);
    const sr = run && (await this.metadata.getStepRun(`${run.id}:${stepId}`));
    if (!sr?.outputDigest) throw new TrainyardError("NOT_FOUND", `run "${runIdOrPrefix}" has no output for step "${stepId}"`, { step: stepId, hint: "check `trainyard show <run>`" });
    return this.io.load(sr.outputDigest);
  }

  async close(): Promise<void> {
    await this.artifacts.close?.();
    await this.metadata.close();
  }
}

/** The PostgreSQL database each home was opened with in this process. */
const postgresOfHome = new Map<string, { kind: "postgres"; url: string; schema?: string }>();

async function openMetadata(spec: TrainyardOptions["metadata"], home: string): Promise<MetadataStore> {
  if (spec && "backend" in spec) return spec;
  if (spec?.kind === "postgres") {
    // Loaded on demand: `pg` stays off the start-up path of every SQLite home.
    const { PostgresMetadataStore } = await import("../store/postgres-metadata-store.js");
    return PostgresMetadataStore.open(spec);
  }
  return new SqliteMetadataStore(spec?.file ?? join(home, "metadata.db"));
}
