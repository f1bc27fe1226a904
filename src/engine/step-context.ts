/** The `ctx` a step function receives; also built inside isolated child processes. */
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { format } from "node:util";
import {
  datasetMetaOfPath,
  pendingHandle,
  type Dataset,
  type DirectoryArtifact,
  type FileArtifact,
  type ModelArtifact,
} from "../core/artifacts.js";
import type { MetricOptions, StepContext } from "../core/step.js";
import type { LogLine } from "../store/metadata-store.js";
import { TrainyardError } from "../core/errors.js";
import type { Cancellation } from "./cancellation.js";
import { metricProblem, tagProblem, type MetricInput } from "./metric-input.js";
import type { TrainyardServices } from "./step-services.js";

export interface ContextInit {
  params: Record<string, unknown>;
  runId: string;
  stepId: string;
  attempt: number;
  itemIndex?: number;
  /** Cancels the attempt; `ctx.signal` follows it. */
  cancel: Cancellation;
  /** Parent directory for the lazily created work directory. */
  workRoot: string;
  home: string;
  onLog: (line: LogLine) => void;
  /**
   * Hands out the work directory (the run's recycled ones); without it one is made under
   * workRoot. `hasOut` says its `out/` directory is already there.
   */
  allocateWorkdir?: () => { dir: string; hasOut: boolean };
  /** Digest through the stat index; child processes, which have no metadata store, hash directly. */
  digestFile?: (path: string) => Promise<string>;
  /** The running Trainyard's services; a child process opens the configured stores on first use. */
  services?: () => Promise<TrainyardServices>;
  /** Receives the metrics and tags the step records (already checked). */
  onMetric?: (metric: MetricInput) => void;
  onTag?: (key: string, value: string) => void;
  /** Told of a problem that does not fail the step (a bad metric); it is also written to the log. */
  onWarning?: (message: string) => void;
}

/** Work roots made by this process: one mkdir per root, not one per step. */
const createdRoots = new Set<string>();

export class RunningStepContext implements StepContext<Record<string, unknown>> {
  readonly params: Record<string, unknown>;
  readonly runId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly itemIndex?: number;
  readonly home: string;
  private dir?: string;
  private outReady = false;

  constructor(private readonly init: ContextInit) {
    this.params = Object.freeze({ ...init.params });
    this.runId = init.runId;
    this.stepId = init.stepId;
    this.attempt = init.attempt;
    this.itemIndex = init.itemIndex;
    this.home = init.home;
  }

  get signal(): AbortSignal {
    return this.init.cancel.signal;
  }

  /** Where the run's work directories and process records live, for the runners. */
  get workRoot(): string {
    return this.init.workRoot;
  }

  /** The attempt's cancellation, for the runners (a step itself uses `signal`). */
  get cancel(): Cancellation {
    return this.init.cancel;
  }

  /** Created on first use: most steps never need one. */
  get workdir(): string {
    if (!this.dir && this.init.allocateWorkdir) {
      const { dir, hasOut } = this.init.allocateWorkdir();
      this.dir = dir;
      this.outReady = hasOut;
    }
    if (!this.dir) {
      const prefix = join(this.init.workRoot, `work-${this.stepId.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40)}-`);
      if (!createdRoots.has(this.init.workRoot)) {
        mkdirSync(this.init.workRoot, { recursive: true });
        createdRoots.add(this.init.workRoot);
      }
      try {
        this.dir = mkdtempSync(prefix);
      } catch (err) {
        // The root was removed since (a home deleted and recreated in this process).
        if ((err as { code?: string }).code !== "ENOENT") throw err;
        mkdirSync(this.init.workRoot, { recursive: true });
        this.dir = mkdtempSync(prefix);
      }
    }
    return this.dir;
  }

  get workdirIfCreated(): string | undefined {
    return this.dir;
  }

  /** The work directory with its `out/` directory (for command steps), made if missing. */
  get outdir(): string {
    const out = `${this.workdir}/out`;
    if (!this.outReady) {
      mkdirSync(out, { recursive: true });
      this.outReady = true;
    }
    return out;
  }

  log(...args: unknown[]): void {
    const text = format(...args);
    for (const line of text.split("\n")) this.init.onLog({ ts: Date.now(), stream: "log", line });
  }

  metric(name: string, value: number, opts: MetricOptions = {}): void {
    const problem = metricProblem(name, value, opts);
    if (problem) return this.warn(`step "${this.stepId}": ctx.metric left out: ${problem}`);
    const metric: MetricInput = { name, value };
    if (opts.step !== undefined) metric.step = opts.step;
    if (opts.goal !== undefined) metric.goal = opts.goal;
    this.init.onMetric?.(metric);
  }

  tag(key: string, value: string): void {
    const problem = tagProblem(key, value);
    if (problem) return this.warn(`step "${this.stepId}": ctx.tag left out: ${problem}`);
    this.init.onTag?.(key, String(value));
  }

  /** A problem that does not fail the step: written to its log as a warning, and reported. */
  warn(message: string): void {
    this.init.onLog({ ts: Date.now(), stream: "log", line: `warning: ${message}` });
    this.reportWarning(message);
  }

  /** Reports a warning already in the log (one an isolated step's process wrote). */
  reportWarning(message: string): void {
    this.init.onWarning?.(message);
  }

  services(): Promise<TrainyardServices> {
    if (this.init.services) return this.init.services();
    const hint = "run the step through a Trainyard (trainyard run, Trainyard.run or the testing helpers)";
    const message = `step "${this.stepId}" has no Trainyard services here`;
    return Promise.reject(new TrainyardError("NOT_FOUND", message, { step: this.stepId, hint }));
  }

  async digestFile(path: string): Promise<string> {
    if (this.init.digestFile) return this.init.digestFile(path);
    const { hashFile } = await import("../store/file-hash.js");
    return (await hashFile(path)).digest;
  }

  file(path: string, meta: Record<string, unknown> = {}): FileArtifact {
    return pendingHandle<FileArtifact>("file", this.resolve(path), meta);
  }

  directory(path: string, meta: Record<string, unknown> = {}): DirectoryArtifact {
    return pendingHandle<DirectoryArtifact>("directory", this.resolve(path), meta);
  }

  dataset(path: string, meta: Partial<Dataset["meta"]> = {}): Dataset {
    return pendingHandle<Dataset>("dataset", this.resolve(path), {
      ...datasetMetaOfPath(path),
      ...meta,
    } as Dataset["meta"]);
  }

  model(path: string, meta: ModelArtifact["meta"] = {}): ModelArtifact {
    return pendingHandle<ModelArtifact>("model", this.resolve(path), meta);
  }

  private resolve(path: string): string {
    return path.startsWith("/") ? path : join(this.workdir, path);
  }
}
