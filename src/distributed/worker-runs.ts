/**
 * A worker's view of the runs it takes tasks of: per run and pipeline bundle, the bundle loaded
 * from the artifact store (verified against its digest), the compiled graph, and a local
 * executor writing that run's records. Idle runs are closed after a while.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { compileGraph } from "../core/graph.js";
import { isPipeline } from "../core/pipeline.js";
import { TrainyardError } from "../core/errors.js";
import { relinkBundle } from "../engine/bundle-externals.js";
import { defaultExecutors } from "../engine/executor-registry.js";
import { type RecordSink, RecordWriter } from "../engine/record-writer.js";
import type { Executor, StepTask } from "../engine/step-task.js";
import type { Trainyard } from "../engine/trainyard.js";

export interface WorkerRun {
  executor: Executor;
  records: RecordWriter;
}

interface Entry {
  opened: Promise<WorkerRun>;
  abort: AbortController;
  usedAt: number;
  /** Tasks of the run running here now: a run is never closed under one. */
  active: number;
}

/** A run none of whose tasks came for this long is closed (its executor, helper shells, work dirs). */
const IDLE_MS = 60_000;

export class WorkerRuns {
  private readonly entries = new Map<string, Entry>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly trainyard: Trainyard,
    private readonly concurrency: number,
    /** Where each run's records are written. @default the metadata store */
    private readonly sink: RecordSink = trainyard.metadata,
    /** Where the packages a bundle imports are looked up (node_modules above it). @default the working directory */
    private readonly projectDir = process.cwd(),
  ) {
    this.sweep = setInterval(() => void this.closeIdle(), IDLE_MS / 4);
    this.sweep.unref();
  }

  contextFor(task: StepTask): Promise<WorkerRun> {
    if (!task.bundleDigest)
      throw new TrainyardError("TASK_INVALID", `step "${task.stepId}" was sent without its pipeline bundle`, {
        step: task.stepId,
        hint:
          "run the pipeline from its module file (trainyard run <file.ts>): " +
          "only a module's bundle can travel to workers",
      });
    const key = `${task.runId}|${task.bundleDigest}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const abort = new AbortController();
      entry = { opened: this.open(task, abort.signal), abort, usedAt: Date.now(), active: 0 };
      entry.opened.catch(() => this.entries.delete(key));
      this.entries.set(key, entry);
    }
    entry.usedAt = Date.now();
    entry.active++;
    return entry.opened;
  }

  /** A task taken with contextFor ended. */
  done(task: StepTask): void {
    const entry = this.entries.get(`${task.runId}|${task.bundleDigest}`);
    if (!entry) return;
    entry.active--;
    entry.usedAt = Date.now();
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.entries.keys()].map((k) => this.closeEntry(k)));
  }

  private async open(task: StepTask, signal: AbortSignal): Promise<WorkerRun> {
    const bundlePath = await this.bundle(task.bundleDigest!);
    const mod = (await import(pathToFileURL(bundlePath).href)) as { default?: unknown };
    if (!isPipeline(mod.default))
      throw new TrainyardError("TASK_INVALID", `bundle ${task.bundleDigest} does not default-export a pipeline`, {
        step: task.stepId,
      });
    const graph = compileGraph(mod.default);
    const run = await this.trainyard.metadata.getRun(task.runId);
    const records = new RecordWriter(this.sink, () => this.trainyard.io.sync());
    const env = {
      metadata: this.trainyard.metadata,
      io: this.trainyard.io,
      workRoot: this.trainyard.workRoot,
      home: this.trainyard.home,
      services: this.trainyard,
      stores: this.trainyard.stores,
    };
    const input = {
      runId: task.runId,
      pipeline: task.pipeline,
      graph,
      params: run?.params ?? {},
      moduleDir: dirname(task.modulePath),
      bundlePath,
    };
    const factory = defaultExecutors().factoryFor({ kind: "local" });
    const executor = await factory({
      spec: { kind: "local" },
      env,
      run: input,
      concurrency: this.concurrency,
      signal,
      records,
      // Inputs were resolved by the orchestrator: verify them against their digests here.
      verifyInputs: true,
      // This home's log files are not the orchestrator's: long logs are copied to the artifact store.
      logCopies: this.trainyard.artifacts.logCopies,
    });
    return { executor, records };
  }

  /**
   * The bundle as a local module file, copied once from the store after its digest was verified, its
   * package imports relinked to this worker's Trainyard and its project's packages.
   */
  private async bundle(digest: string): Promise<string> {
    const dir = join(this.trainyard.cacheDir, "worker-bundles");
    const file = join(dir, `${digest.replace(/[^A-Za-z0-9]/g, "_")}.mjs`);
    if (existsSync(file)) return file;
    const verified = await this.trainyard.verifiedPath(digest, { use: "the pipeline bundle of a queued step" });
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, relinkBundle(readFileSync(verified, "utf8"), [this.projectDir], { bundle: digest }));
    renameSync(tmp, file);
    return file;
  }

  private async closeIdle(): Promise<void> {
    const now = Date.now();
    for (const [key, entry] of this.entries)
      if (entry.active <= 0 && now - entry.usedAt > IDLE_MS) await this.closeEntry(key);
  }

  private async closeEntry(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.abort.abort();
    const run = await entry.opened.catch(() => undefined);
    await run?.executor.close();
    await run?.records.flush();
  }
}
