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
import { compileGraph, type CompiledGraph } from "../core/graph.js";
import { didYouMean } from "../core/did-you-mean.js";
import { sha256 } from "../core/hash.js";
import { resolveParams } from "../core/params.js";
import type { Pipeline } from "../core/pipeline.js";
import type { ArtifactsConfig, ExecutorConfig, MetadataConfig, TrainyardConfig } from "../core/config.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { FsArtifactStore } from "../store/fs-artifact-store.js";
import type { MetadataStore, RunRecord, RunStatus, StepRunRecord } from "../store/metadata-store.js";
import { upgradeHomeDigests } from "../store/home-digest-upgrade.js";
import { SqliteMetadataStore } from "../store/sqlite-metadata-store.js";
import type { RegistryStore } from "../store/registry-store.js";
import { ArtifactIO } from "./artifact-io.js";
import type { RunEvent } from "./events.js";
import { RunExecutor } from "./executor.js";
import type { GcOptions, GcResult } from "./gc.js";
import type { LogLimits } from "./step-log-files.js";
import { buildCodeContext, type CodeContext } from "./code-context.js";
import { findConfigFile, loadConfigFile, loadConfigModule } from "./module-loader.js";
import { loadPipelineModule, moduleCacheDir } from "./module-loader.js";
import { reapOrphans } from "./orphan-reaper.js";
import type { PlanResult } from "./planner.js";
import { acquireRunLease, type HeldRunLease } from "./run-lease.js";
import { requireRun } from "./require-run.js";
import type { WhyResult } from "./why.js";
import { TrainyardQuery } from "./query.js";
import type { TrainyardServices } from "./step-services.js";
import { registryOf } from "./registry-of.js";
import { type ArtifactsSpec, chooseStores, type MetadataSpec, type StoreSpec } from "./store-choice.js";
import { defaultExecutors, type ExecutorRegistry, type ExecutorSpec } from "./executor-registry.js";

export interface TrainyardOptions {
  /** Where state lives. @default $TRAINYARD_HOME, else the config's home, else ".trainyard" in the working directory */
  home?: string;
  /**
   * Metadata backend, by name or as an instance. @default $TRAINYARD_METADATA_URL, else the
   * config's metadata, else { kind: "sqlite" } at <home>/metadata.db
   */
  metadata?: MetadataConfig | MetadataStore;
  /** Artifact backend, by name or as an instance. @default the config's, else { kind: "fs" } at <home>/artifacts */
  artifacts?: ArtifactsConfig | ArtifactStore;
  /** What runs steps, by name (with its options). @default the config's executor, else "local" */
  executor?: ExecutorConfig;
  /** Where executor names are looked up. @default "local" and those registered with registerExecutor() */
  executors?: ExecutorRegistry;
  /** A validated trainyard.config.ts (see loadConfigFile); options above win over it. */
  config?: TrainyardConfig;
  /** The config's file: its relative paths resolve from that file's directory. */
  configFile?: string;
}

export interface ConfiguredOpenOptions {
  /** --home */
  home?: string;
  /** --metadata-url: a PostgreSQL database, winning over the environment and the config. */
  metadataUrl?: string;
  /** --config: the config file to use. @default trainyard.config.ts in `dir`, if any */
  configFile?: string;
  /** Where to look for trainyard.config.ts: the pipeline module's directory. @default the working directory */
  dir?: string;
}

export interface RunRequest {
  /** Typed param values (API callers, tests). */
  params?: Record<string, unknown>;
  /** Raw `--param k=v` strings, coerced to each param's declared type. */
  overrides?: Record<string, string>;
  profile?: string;
  /** @default the config's, else the number of CPUs (a queue run: its workers' slots, see docs/distributed.md) */
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
  /** Type-check a module first (when TypeScript is installed); a failure is a failed run. @default false */
  typeCheck?: boolean;
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
  const day = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${day}-${time}-${randomBytes(3).toString("hex")}`;
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
  configConcurrency?: number;
}

export class Trainyard implements TrainyardServices {
  readonly io: ArtifactIO;

  private constructor(
    readonly home: string,
    readonly metadata: MetadataStore,
    readonly artifacts: ArtifactStore,
    /** The stores by name with absolute paths, for child processes; undefined when given as instances. */
    readonly stores?: StoreSpec,
    /** The executor that runs steps, by name with its options. */
    readonly executor: ExecutorSpec = { kind: "local" },
    private readonly executors: ExecutorRegistry = defaultExecutors(),
    private readonly configFile?: string,
  ) {
    this.io = new ArtifactIO(artifacts, metadata);
  }

  private registryStore?: RegistryStore;
  private queries?: TrainyardQuery;

  /** The model registry, in the metadata store's database. */
  get registry(): RegistryStore {
    this.registryStore ??= registryOf(this.metadata);
    return this.registryStore;
  }

  /** Runs, logs, artifacts, lineage and the registry, as the CLI, daemon and HTTP API read them. */
  get query(): TrainyardQuery {
    this.queries ??= new TrainyardQuery(this);
    return this.queries;
  }

  verifiedPath(digest: string, opts: { use?: string } = {}): Promise<string> {
    return this.io.verifiedPath(digest, opts);
  }

  loadValue(digest: string): Promise<unknown> {
    return this.io.load(digest);
  }

  /**
   * Opens the stores chosen field by field: these options > environment > `config` > defaults
   * (see store-choice.ts). Stores given as instances are used as they are.
   */
  static async open(opts: TrainyardOptions = {}): Promise<Trainyard> {
    const named = <T>(x: T | { backend: string } | undefined) =>
      x && !("backend" in (x as object)) ? (x as T) : undefined;
    const metadataByName = named<MetadataConfig>(opts.metadata);
    const artifactsByName = named<ArtifactsConfig>(opts.artifacts);
    const flags = { home: opts.home, metadata: metadataByName, artifacts: artifactsByName, executor: opts.executor };
    const choice = chooseStores({ flags, config: opts.config, configFile: opts.configFile });
    const metadataInstance = opts.metadata && "backend" in opts.metadata ? opts.metadata : undefined;
    const artifactsInstance = opts.artifacts && "backend" in opts.artifacts ? opts.artifacts : undefined;
    // A home written before digests named their scheme is rewritten once, before anything reads it.
    if (!metadataInstance && !artifactsInstance && choice.artifacts.kind === "fs")
      await upgradeHomeDigests(choice.metadata, choice.artifacts.root);
    const metadata = metadataInstance ?? (await openMetadata(choice.metadata));
    const artifacts = artifactsInstance ?? (await openArtifacts(choice.artifacts));
    // A child process can open the same stores only when they were chosen by name.
    const spec = metadataInstance || artifactsInstance ? undefined : choice;
    const executors = opts.executors ?? defaultExecutors();
    return new Trainyard(choice.home, metadata, artifacts, spec, choice.executor, executors, opts.configFile);
  }

  /**
   * Opens what the CLI (or the daemon) should use: trainyard.config.ts (next to the pipeline, or
   * --config) chooses the stores, and flags and the environment override it field by field.
   */
  static async openConfigured(opts: ConfiguredOpenOptions = {}): Promise<Trainyard> {
    const dir = resolve(opts.dir ?? ".");
    const file = opts.configFile ? resolve(opts.configFile) : findConfigFile(dir);
    const fallbackCache = join(opts.home ? resolve(opts.home) : dir, ".trainyard", "cache");
    const loaded = file ? await loadConfigFile(file, moduleCacheDir(fallbackCache)) : undefined;
    const metadata = opts.metadataUrl ? { kind: "postgres" as const, url: opts.metadataUrl } : undefined;
    return Trainyard.open({ home: opts.home, metadata, config: loaded?.config, configFile: loaded?.file });
  }

  /** Bundled pipeline modules: the user's cache, shared by every home (see moduleCacheDir). */
  get cacheDir(): string {
    this.moduleCache ??= moduleCacheDir(join(this.home, "cache"));
    return this.moduleCache;
  }

  private moduleCache?: string;

  /**
   * Step work directories, the engine's own. Beside a local store's objects when it has one, so
   * that storing an output is a rename on one file system; under the home otherwise.
   */
  get workRoot(): string {
    return this.artifacts instanceof FsArtifactStore ? join(this.artifacts.root, "tmp") : join(this.home, "work");
  }

  /** Loads a pipeline module (or takes a pipeline built in this process) and its config profiles. */
  async load(target: string | Pipeline<any>): Promise<Loaded> {
    if (typeof target === "string") {
      const m = await loadPipelineModule(target, this.cacheDir);
      const moduleDir = dirname(m.modulePath);
      const config = await loadConfigModule(moduleDir, this.cacheDir);
      const codeContext = buildCodeContext(m.modulePath, m.sourceFiles);
      return { ...m, moduleDir, configProfiles: config?.profiles, configConcurrency: config?.concurrency, codeContext };
    }
    const modulePath = target.modulePath ?? join(process.cwd(), `${target.name}.pipeline`);
    const code = [...target.steps.values()]
      .map((s) => `${s.id}:${s.run?.toString() ?? JSON.stringify(s.command?.run ?? "")}`)
      .join("\n");
    return {
      pipeline: target,
      modulePath,
      moduleDir: dirname(modulePath),
      bundlePath: undefined,
      codeVersion: sha256(code),
    };
  }

  async run(target: string | Pipeline<any>, req: RunRequest = {}): Promise<RunResult> {
    const started = Date.now();
    const runId = req.runId ?? newRunId();
    // An executor name nothing registered is a configuration error, found before any run is recorded.
    this.executors.factoryFor(this.executor, this.configFile);
    // A fixed id is how a relaunch after a crash stays exactly-once: the second launch is refused.
    if (req.runId) await this.refuseExistingRun(req.runId);
    let loaded: Loaded | undefined;
    let lease: HeldRunLease | undefined;
    try {
      if (req.typeCheck && typeof target === "string") await this.typeCheck(target);
      loaded = await this.load(target);
      const { pipeline } = loaded;
      const params = resolveParams(
        pipeline.name,
        pipeline.paramsSchema,
        pipeline.profiles as Record<string, Record<string, unknown>>,
        {
          profile: req.profile,
          configProfiles: loaded.configProfiles,
          overrides: req.overrides,
          values: req.params,
        },
      );
      const graph = compileGraph(pipeline);
      checkForcedSteps(graph, req.force);
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
        steps: [...graph.order],
        pid: process.pid,
      };
      await this.metadata.upsertPipeline(pipeline.name, loaded.modulePath);
      // Owned from its first record on: a run that shows up "running" always has an owner to check.
      lease = await this.leaseNewRun(runId, req.runId !== undefined);
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
      if (lease) await this.endLease(lease, runId);
    }
  }

  /**
   * Releases a run's lease once its final status is recorded. A run whose last records failed (a full
   * disk) is recorded interrupted if the store takes that one small write, so that `trainyard runs`
   * shows it so and resume continues it; if not, the lease stays, and the run reads interrupted once
   * this process is gone. Before, the lease went anyway, and the run read "running" for ever.
   */
  private async endLease(lease: HeldRunLease, runId: string): Promise<void> {
    const run = await this.metadata.getRun(runId).then(
      (r) => r ?? "none",
      () => "unreadable" as const,
    );
    const open = run === "unreadable" || (run !== "none" && run.status === "running");
    if (open && !lease.lost) {
      const marked = await this.metadata.markRunInterrupted(runId, lease.lease.token, Date.now()).catch(() => false);
      if (!marked) return lease.abandon();
    }
    await lease.release();
  }

  /** A fixed id whose lease another launch holds is that launch's run: refused as existing. */
  private async leaseNewRun(runId: string, fixedId: boolean): Promise<HeldRunLease> {
    try {
      return await acquireRunLease(this.metadata, runId);
    } catch (err) {
      if (!fixedId || !isTrainyardError(err) || err.code !== "RUN_OWNED") throw err;
      throw new TrainyardError("RUN_EXISTS", `run ${runId} already exists: ${err.message}`, {
        runId,
        hint: err.hint,
        cause: err,
      });
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
  async resume(
    runIdOrPrefix: string,
    req: Omit<RunRequest, "params" | "overrides" | "profile"> = {},
  ): Promise<RunResult> {
    const run = await requireRun(this.metadata, runIdOrPrefix, { where: this.home });
    if (run.status === "succeeded") {
      throw new TrainyardError("RUN_NOT_RESUMABLE", `run ${run.id} already succeeded`, {
        runId: run.id,
        hint: `start a new run with \`trainyard run ${run.modulePath}\``,
      });
    }
    this.executors.factoryFor(this.executor, this.configFile);
    const lease = await acquireRunLease(this.metadata, run.id);
    try {
      return await this.resumeOwned(run.id, lease, req);
    } finally {
      await this.endLease(lease, run.id);
    }
  }

  private async resumeOwned(
    runId: string,
    lease: HeldRunLease,
    req: Omit<RunRequest, "params" | "overrides" | "profile">,
  ): Promise<RunResult> {
    const resumedAt = Date.now();
    // Read again under the lease: the previous owner may have finished it meanwhile.
    const run = (await this.metadata.getRun(runId))!;
    if (run.status === "succeeded") {
      const hint = `start a new run with \`trainyard run ${run.modulePath}\``;
      throw new TrainyardError("RUN_NOT_RESUMABLE", `run ${run.id} already succeeded`, { runId: run.id, hint });
    }
    await reapOrphans(this.workRoot, run.id);
    const loaded = await this.load(run.modulePath);
    const graph = compileGraph(loaded.pipeline);
    checkForcedSteps(graph, req.force);
    const previous = new Map<string, StepRunRecord>();
    const interrupted: StepRunRecord[] = [];
    const started = run.startedAt ?? run.createdAt;
    let workedUntil = run.finishedAt ?? started;
    for (const s of await this.metadata.listStepRuns(run.id)) {
      previous.set(s.id, s);
      if (run.finishedAt === undefined) workedUntil = Math.max(workedUntil, s.finishedAt ?? s.startedAt ?? started);
      if (s.status === "running" || s.status === "pending")
        interrupted.push({ ...s, status: "interrupted", reason: "the orchestrating process stopped" });
    }
    if (interrupted.length) await this.metadata.saveStepRuns(interrupted);
    await this.metadata.updateRun(run.id, {
      status: "running",
      pid: process.pid,
      finishedAt: undefined,
      codeVersion: loaded.codeVersion,
      steps: [...graph.order],
    });
    crashPoint("mid-resume");
    const opts = {
      concurrency: req.concurrency ?? (run.options.concurrency as number | undefined),
      force: req.force,
      trigger: "resume",
      signal: req.signal,
      onEvent: req.onEvent,
      logs: req.logs,
    };
    // The duration reported is the run's working time: before the interruption and since resuming.
    const workStartedAt = resumedAt - Math.max(0, workedUntil - started);
    return this.execute({ ...run, status: "running" }, loaded, graph, opts, previous, lease, workStartedAt);
  }

  private async execute(
    run: RunRecord,
    loaded: Loaded,
    graph: ReturnType<typeof compileGraph>,
    req: RunRequest,
    previous: Map<string, StepRunRecord> | undefined,
    lease: HeldRunLease,
    workStartedAt = run.startedAt ?? run.createdAt,
  ): Promise<RunResult> {
    const signal = req.signal ? AbortSignal.any([req.signal, lease.signal]) : lease.signal;
    // The code the run plans with, stored so a worker loads exactly it (StepTask.bundleDigest);
    // kept from gc while the run lives, like the objects it stores.
    const releaseBundle = this.io.holdPending();
    try {
      const bundleDigest = loaded.bundlePath && (await this.artifacts.putFile(loaded.bundlePath)).digest;
      // On the run's record, so gc on any machine keeps it and a resume finds what its tasks load.
      if (bundleDigest && bundleDigest !== run.bundleDigest) await this.metadata.updateRun(run.id, { bundleDigest });
      return await this.executeWith(run, loaded, graph, req, previous, lease, workStartedAt, signal, bundleDigest);
    } finally {
      releaseBundle();
    }
  }

  private async executeWith(
    run: RunRecord,
    loaded: Loaded,
    graph: ReturnType<typeof compileGraph>,
    req: RunRequest,
    previous: Map<string, StepRunRecord> | undefined,
    lease: HeldRunLease,
    workStartedAt: number,
    signal: AbortSignal,
    bundleDigest: string | undefined,
  ): Promise<RunResult> {
    // The run's own choice (its flag, or the config): a queue run is capped by it, not by this machine's CPUs.
    const chosenConcurrency = req.concurrency ?? loaded.configConcurrency;
    const executor = new RunExecutor(
      // Steps reach this Trainyard through ctx.services(); isolated ones open the same stores by name.
      {
        metadata: this.metadata,
        io: this.io,
        workRoot: this.workRoot,
        home: this.home,
        services: this,
        stores: this.stores,
      },
      {
        runId: run.id,
        pipeline: run.pipeline,
        graph,
        params: run.params,
        moduleDir: loaded.moduleDir,
        modulePath: loaded.modulePath,
        bundlePath: loaded.bundlePath,
        bundleDigest,
        codeContext: loaded.codeContext,
      },
      {
        concurrency: Math.max(1, chosenConcurrency ?? availableParallelism()),
        chosenConcurrency: chosenConcurrency === undefined ? undefined : Math.max(1, chosenConcurrency),
        force: req.force,
        signal,
        onEvent: req.onEvent,
        previous,
        logs: req.logs,
        executor: this.executor,
        executors: this.executors,
      },
    );
    const status = await executor.execute();
    // The run's record now belongs to the process that took it over.
    if (lease.lost) throw lease.signal.reason;
    const steps = executor.summary();
    const failed = steps.find((s) => s.status === "failed") ?? steps.find((s) => s.status === "rejected");
    const finishedAt = Date.now();
    await this.metadata.updateRun(run.id, { status, finishedAt, error: failed?.error });
    const durationMs = finishedAt - workStartedAt;
    return { runId: run.id, pipeline: run.pipeline, status, durationMs, steps, error: failed?.error };
  }

  /** Runs newest first, as `trainyard runs` lists them (see TrainyardQuery.listRuns). */
  async listRuns(
    filter: { pipeline?: string; status?: RunStatus; trigger?: string; limit?: number } = {},
  ): Promise<RunRecord[]> {
    return (await this.query.listRuns({ ...filter, limit: filter.limit ?? 50 })).runs;
  }

  /** A run by id or unique id prefix, with its status reconciled as in `listRuns`. */
  async getRun(idOrPrefix: string): Promise<RunRecord | undefined> {
    return this.query.run(idOrPrefix);
  }

  async plan(
    target: string | Pipeline<any>,
    req: Pick<RunRequest, "params" | "overrides" | "profile" | "force" | "typeCheck"> = {},
  ): Promise<PlanResult> {
    if (req.typeCheck && typeof target === "string") await this.typeCheck(target);
    const loaded = await this.load(target);
    const params = resolveParams(
      loaded.pipeline.name,
      loaded.pipeline.paramsSchema,
      loaded.pipeline.profiles as Record<string, Record<string, unknown>>,
      {
        profile: req.profile,
        configProfiles: loaded.configProfiles,
        overrides: req.overrides,
        values: req.params,
      },
    );
    const { planRun } = await import("./planner.js");
    const graph = compileGraph(loaded.pipeline);
    checkForcedSteps(graph, req.force);
    return planRun(this, graph, params, loaded.moduleDir, req.force, loaded.codeContext);
  }

  /** TYPE_CHECK_FAILED unless the module and its local imports type-check (cached by their content). */
  async typeCheck(modulePath: string): Promise<void> {
    const { requireTypeCorrect } = await import("./type-check.js");
    await requireTypeCorrect(modulePath, this.cacheDir);
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
    const run = await requireRun(this.metadata, runIdOrPrefix, { where: this.home });
    const sr = await this.metadata.getStepRun(`${run.id}:${stepId}`);
    if (!sr?.outputDigest)
      throw new TrainyardError("NOT_FOUND", `run "${runIdOrPrefix}" has no output for step "${stepId}"`, {
        step: stepId,
        hint: "check `trainyard show <run>`",
      });
    const value = await this.io.load(sr.outputDigest);
    // The files it names are at their paths: a remote store's are fetched into the verified cache.
    await this.io.hydrateForUse(value, { step: stepId, runId: sr.runId });
    return value;
  }

  /** Leaves the stores open for a process about to exit, noting that the metadata log is whole. */
  leaveOpen(): void {
    (this.metadata as { noteCleanExit?: () => void }).noteCleanExit?.();
  }

  async close(): Promise<void> {
    await this.artifacts.close?.();
    await this.metadata.close();
  }
}

/** A step named by --force must exist: a typo would otherwise reuse the cache the user meant to bypass. */
function checkForcedSteps(graph: CompiledGraph, force: RunRequest["force"]): void {
  if (!Array.isArray(force)) return;
  const steps = [...graph.steps.keys()];
  for (const name of force) {
    if (graph.steps.has(name)) continue;
    const quote = (s: string) => `"${s}"`;
    const suggestion = didYouMean(name, steps, quote);
    const message = `--force names no step of pipeline "${graph.pipeline.name}": "${name}"${suggestion}`;
    throw new TrainyardError("STEP_UNKNOWN", message, {
      step: name,
      hint: `its steps are ${steps.join(", ")}`,
    });
  }
}

async function openArtifacts(spec: ArtifactsSpec): Promise<ArtifactStore> {
  if (spec.kind === "s3") {
    // Loaded on demand: the AWS SDK stays off the start-up path of every local home.
    const { S3ArtifactStore } = await import("../store/s3-artifact-store.js");
    return new S3ArtifactStore(spec);
  }
  return new FsArtifactStore(spec.root);
}

async function openMetadata(spec: MetadataSpec): Promise<MetadataStore> {
  if (spec.kind === "postgres") {
    // Loaded on demand: `pg` stays off the start-up path of every SQLite home.
    const { PostgresMetadataStore } = await import("../store/postgres-metadata-store.js");
    return PostgresMetadataStore.open(spec);
  }
  return new SqliteMetadataStore(spec.file);
}
