/**
 * Executors by name: `executor: "local"` (the default) or a name another package registered
 * (`registerExecutor("queue", ...)` from the CLI), so the engine never imports what plugs into it.
 */
import type { ExecutorConfig } from "../core/config.js";
import { TrainyardError } from "../core/errors.js";
import type { LogCopies } from "../store/artifact-store.js";
import type { LogLimits } from "./step-log-files.js";
import type { ExecuteInput, ExecutorEnv } from "./executor-types.js";
import { LocalExecutor } from "./local-executor.js";
import type { RecordWriter } from "./record-writer.js";
import type { Executor } from "./step-task.js";

/** An executor's config entry in its object form: `{ kind: name, ...options }`. */
export type ExecutorSpec = { kind: string; [option: string]: unknown };

/** What a factory is given to build the executor of one run. */
export interface ExecutorContext {
  /** Its config entry: the options beside `kind` are the executor's own. */
  spec: ExecutorSpec;
  /** The run's stores and directories (`stores` names them for other processes). */
  env: ExecutorEnv;
  /** The run and its pipeline as loaded here (graph, params, module directory, bundle). */
  run: ExecuteInput;
  /** Steps the run may run at once (--concurrency, the config, else the CPUs). */
  concurrency: number;
  /**
   * The concurrency the run was given (--concurrency, the config), unset when `concurrency` is this
   * machine's CPU count: an executor whose slots are elsewhere (a queue's workers) is capped only by it.
   */
  chosenConcurrency?: number;
  /** Aborted when the whole run is cancelled. */
  signal: AbortSignal;
  /** The run's batched records: attempts, logs and metrics go here, committed with the run's windows. */
  records: RecordWriter;
  /** Caps of the run's log files. */
  logLimits?: Partial<LogLimits>;
  /** Where long logs' files are copied for other machines to read (a worker's executor: see RunLogs). */
  logCopies?: LogCopies;
  /**
   * Verify every artifact in a task's inputs against its digest before the step reads it: set
   * by a process that did not resolve the inputs itself (a worker). @default false
   */
  verifyInputs?: boolean;
}

export type ExecutorFactory = (ctx: ExecutorContext) => Executor | Promise<Executor>;

/** Executor factories by name. */
export class ExecutorRegistry {
  private readonly factories = new Map<string, ExecutorFactory>();

  constructor(entries: Iterable<[string, ExecutorFactory]> = []) {
    for (const [name, factory] of entries) this.register(name, factory);
  }

  /** Adds (or replaces) the executor called `name`. */
  register(name: string, factory: ExecutorFactory): this {
    this.factories.set(name, factory);
    return this;
  }

  names(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** The factory for `spec`, or EXECUTOR_UNKNOWN naming the executors there are. */
  factoryFor(spec: ExecutorSpec, configFile?: string): ExecutorFactory {
    const factory = this.factories.get(spec.kind);
    if (factory) return factory;
    const known = this.names();
    const where = configFile ? ` (in ${configFile})` : "";
    throw new TrainyardError("EXECUTOR_UNKNOWN", `unknown executor "${spec.kind}"${where}`, {
      field: "executor",
      file: configFile,
      hint: `the executors are ${known.map((n) => `"${n}"`).join(", ")}; set executor to one of them`,
    });
  }
}

/** The executors this process knows: "local" always; others once registered (see registerExecutor). */
const processExecutors = new ExecutorRegistry([["local", (ctx) => new LocalExecutor(ctx)]]);

/** Registers an executor for every Trainyard of this process opened without its own registry. */
export function registerExecutor(name: string, factory: ExecutorFactory): void {
  processExecutors.register(name, factory);
}

/** The registry a Trainyard uses when it is given none ("local" and whatever this process registered). */
export function defaultExecutors(): ExecutorRegistry {
  return processExecutors;
}

/** The object form of an executor config entry; "local" when none is given. */
export function executorSpec(config: ExecutorConfig | undefined): ExecutorSpec {
  if (config === undefined) return { kind: "local" };
  return typeof config === "string" ? { kind: config } : { ...config };
}
