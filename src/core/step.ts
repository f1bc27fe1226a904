/**
 * Step definitions as plain typed data. A step is a node of the pipeline DAG: an inline
 * function, an isolated function run in a child process, a command, or a map over a list.
 * Definitions hold no run-time state; the engine compiles and executes them.
 */
import type { ArtifactKind, Dataset, DirectoryArtifact, FileArtifact, ModelArtifact } from "./artifacts.js";

/** A reference to a step's output (or a field of it), typed by what the step returns. */
export interface StepRef<O> {
  readonly $ref: true;
  readonly stepId: string;
  /** Field path into the output; empty for the whole output. */
  readonly path: readonly string[];
  /** Phantom member carrying the output type; never set at run time. */
  readonly __output?: O;
  /** A reference to one field of this step's output; only that field enters a consumer's cache key. */
  pick<K extends keyof O & string>(key: K): StepRef<O[K]>;
}

export type AnyStepRef = StepRef<any>;
export type Inputs = Record<string, AnyStepRef>;
export type ResolvedInputs<I extends Inputs> = { [K in keyof I]: I[K] extends StepRef<infer O> ? O : never };

export function makeRef<O>(stepId: string, path: readonly string[] = []): StepRef<O> {
  return {
    $ref: true,
    stepId,
    path,
    pick(key: string) {
      return makeRef(stepId, [...path, key]);
    },
  } as StepRef<O>;
}

export function isStepRef(value: unknown): value is AnyStepRef {
  return typeof value === "object" && value !== null && (value as { $ref?: unknown }).$ref === true;
}

export interface RetryPolicy {
  /** Total attempts, the first included. @default 1 */
  attempts?: number;
  /** Delay before the second attempt, in ms. @default 500 */
  initialDelayMs?: number;
  /** Multiplier applied to the delay after each failed attempt. @default 2 */
  backoff?: number;
  /** Upper bound of one delay, in ms. @default 30000 */
  maxDelayMs?: number;
  /** Fraction of each delay that is randomized (0..1). @default 0.25 */
  jitter?: number;
  /** Which errors are retried; a `Fatal` error never is. @default every error */
  retryOn?: (error: unknown) => boolean;
}

export interface StepOptions {
  /** One line shown by `plan`, `show` and the UI. */
  description?: string;
  /** Retries: a number of extra attempts, or a full policy. @default no retries */
  retry?: number | RetryPolicy;
  /** Timeout of one attempt: milliseconds or "30s", "5m", "1h". @default none */
  timeout?: number | string;
  /** Resource pool this step draws a slot from; pool sizes are set on the pipeline. @default none */
  pool?: string;
  /** Bump to invalidate the cache of this step by hand. @default "" */
  version?: string;
  /** Set false for steps whose output must be recomputed on every run. @default true */
  cache?: boolean;
  /** Run in a child process, which allows a hard timeout and a memory limit. @default false */
  isolate?: boolean | { memoryMb?: number };
  /** A check that protects production (validation, contract, drift, gates): no `sideEffect` step of the run
   *  starts before it passed, and none starts at all once it failed or rejected. @default false */
  guard?: boolean;
  /** Changes the world outside the run (register, deploy, promote, notify): starts only once every guard of
   *  the run that is not downstream of it passed, whatever the wiring. @default false */
  sideEffect?: boolean;
  /** Runs alone: starts once no other step of the run is running, and nothing starts beside it
   *  (e.g. latency measurement). @default false */
  exclusive?: boolean;
  /** Extra JSON configuration that enters the cache key (library steps put their options here). */
  config?: unknown;
  /**
   * Source files the step reads from outside the artifact store (a landing folder, a CSV). Their
   * content digests enter the cache key through the stat index, so unchanged files are not re-read
   * and a changed or new file reruns the step. Relative paths resolve from the pipeline module.
   */
  sources?: (params: any) => readonly string[] | Promise<readonly string[]>;
}

/** Filled in by the engine (src/engine/step-services.ts), so that core stays free of stores. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
// biome-ignore lint/suspicious/noEmptyInterface: filled in by declaration merging (engine/step-services.ts)
export interface StepServices {}

export interface StepContext<P> {
  readonly params: Readonly<P>;
  readonly runId: string;
  readonly stepId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Index of the item for a map step. */
  readonly itemIndex?: number;
  /** Aborted on timeout, on cancellation and when the run fails fast. */
  readonly signal: AbortSignal;
  /** The Trainyard home of this run (a directory; its stores may be configured elsewhere). */
  readonly home: string;
  /**
   * The running Trainyard's stores, model registry and query API (see TrainyardServices): the
   * same database the run records into, also inside isolated child processes.
   */
  services(): Promise<StepServices>;
  /** A private, empty directory for this attempt; produce output files here. */
  readonly workdir: string;
  /** Writes a line to this attempt's log. */
  log(...args: unknown[]): void;
  /**
   * Records a metric of this step, recorded at once (visible while the step runs): a final value
   * (`ctx.metric("auc", 0.71)`) or a point of a curve (`ctx.metric("val_loss", 0.3, { step: 12 })`).
   * A value that is not a finite number is left out with a warning in the step's log.
   */
  metric(name: string, value: number, opts?: MetricOptions): void;
  /** Tags the run (`ctx.tag("model", "gbdt")`); the last value set for a key wins. */
  tag(key: string, value: string): void;
  /**
   * sha256 of a source file, from the engine's stat index: an unchanged file (same size, mtime
   * and inode) is not read again. Use it to make ingestion cache on the content of its sources.
   */
  digestFile(path: string): Promise<string>;
  /** Declare a file in the work directory as an output artifact. */
  file(path: string, meta?: Record<string, unknown>): FileArtifact;
  directory(path: string, meta?: Record<string, unknown>): DirectoryArtifact;
  dataset(path: string, meta?: Partial<Dataset["meta"]>): Dataset;
  model(path: string, meta?: ModelArtifact["meta"]): ModelArtifact;
}

export interface MetricOptions {
  /** The training step or epoch the value belongs to. */
  step?: number;
  /** Which way is better. @default inferred from the name: "min" for loss, error, rmse..., else "max" */
  goal?: "max" | "min";
}

export type RunFn = (ctx: StepContext<any>, ...args: any[]) => unknown;

export type CommandOutputSpec = ArtifactKind | { path: string; kind?: ArtifactKind };
export type KindHandle<K> = K extends "dataset"
  ? Dataset
  : K extends "model"
    ? ModelArtifact
    : K extends "directory"
      ? DirectoryArtifact
      : FileArtifact;
export type CommandOutputs<O extends Record<string, CommandOutputSpec>> = {
  [K in keyof O]: O[K] extends { kind: infer Kd } ? KindHandle<Kd> : KindHandle<O[K]>;
};

/** Paths given to a command: artifact inputs as their stored files, JSON inputs as .json files. */
export type InputPaths<I extends Inputs> = { [K in keyof I]: string };

export interface CommandContext<P> {
  readonly params: Readonly<P>;
  readonly out: string;
  readonly workdir: string;
}

export interface CommandSpec {
  /** argv (no shell), a shell string, or a function of params and input paths returning either. */
  run:
    | string
    | readonly string[]
    | ((ctx: CommandContext<any>, inputs: Record<string, string>) => string | readonly string[]);
  /** Files (relative to the pipeline module) whose content enters the cache key, e.g. a script. */
  files: readonly string[];
  outputs: Record<string, CommandOutputSpec>;
  env?: Record<string, string>;
  cwd?: string;
}

export type StepKind = "inline" | "command" | "map";

/** The stored form of a step, as `pipeline.step()` and friends record it. */
export interface StepDef {
  readonly id: string;
  readonly kind: StepKind;
  readonly inputs: Readonly<Inputs>;
  readonly params: readonly string[];
  readonly options: Readonly<StepOptions>;
  /** Inline and map steps: the function to run. */
  readonly run?: RunFn;
  readonly command?: CommandSpec;
  /** Map steps: the list to fan out over. */
  readonly over?: AnyStepRef;
}
