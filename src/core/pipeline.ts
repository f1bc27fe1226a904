/**
 * The authoring API. A pipeline module builds a `Pipeline` at import time and default-exports
 * it; re-importing the module in another process rebuilds the same steps, which is what makes
 * every step addressable by (module path, step id).
 */
import { TrainyardError } from "./errors.js";
import type { ParamsSchema } from "./params.js";
import {
  makeRef,
  type CommandContext,
  type CommandOutputs,
  type CommandOutputSpec,
  type Inputs,
  type InputPaths,
  type ResolvedInputs,
  type StepContext,
  type StepDef,
  type StepOptions,
  type StepRef,
} from "./step.js";
import type { RunStatusSpec } from "./event-triggers.js";
import { compileTrigger, type MonitorSpec, type ScheduleSpec, type SensorSpec, type TriggerDecl } from "./triggers.js";

const PIPELINE = Symbol.for("trainyard.pipeline");
const STEP_ID = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

export interface PipelineOptions<S extends ParamsSchema | undefined> {
  /** A zod object schema of the pipeline's params, with defaults. @default no params */
  params?: S;
  /** Named param sets selected with `--profile NAME`. */
  profiles?: Record<string, Record<string, unknown>>;
  /** Sizes of resource pools that steps name with `pool`. A pool not listed here has size 1. */
  pools?: Record<string, number>;
  description?: string;
}

type ParamsOf<S> = S extends { _output: infer O }
  ? O
  : S extends { parse(v: unknown): infer O }
    ? O
    : Record<string, never>;
type ParamKey<P> = keyof P & string;

export interface StepSpec<P, K extends ParamKey<P>, I extends Inputs, O> extends StepOptions {
  /** Outputs of other steps this step reads. */
  inputs?: I;
  /** Names of the pipeline params this step reads; only these enter its cache key. */
  params?: readonly K[];
  run: (ctx: StepContext<Pick<P, K>>, inputs: ResolvedInputs<I>) => O | Promise<O>;
}

export interface MapSpec<P, K extends ParamKey<P>, I extends Inputs, T, O> extends StepOptions {
  /** The list to fan out over; each item runs, caches and retries on its own. */
  over: StepRef<readonly T[]>;
  inputs?: I;
  params?: readonly K[];
  run: (ctx: StepContext<Pick<P, K>>, item: T, inputs: ResolvedInputs<I>) => O | Promise<O>;
}

export interface CommandStepSpec<
  P,
  K extends ParamKey<P>,
  I extends Inputs,
  Out extends Record<string, CommandOutputSpec>,
> extends Omit<StepOptions, "isolate"> {
  inputs?: I;
  params?: readonly K[];
  /**
   * The program to run: an argv array (no shell), a shell string, or a function returning one.
   * Environment: TRAINYARD_OUT (output directory), TRAINYARD_INPUT_<NAME> (input file paths),
   * TRAINYARD_PARAMS (JSON). Strings may use {out}, {inputs.NAME} and {params.NAME}.
   */
  run:
    | string
    | readonly string[]
    | ((ctx: CommandContext<Pick<P, K>>, inputs: InputPaths<I>) => string | readonly string[]);
  /** Files the command depends on (e.g. its script), relative to the pipeline module. */
  files?: readonly string[];
  /**
   * Output files collected from TRAINYARD_OUT: name -> kind or { path, kind }. @default the whole directory as `out`
   */
  outputs?: Out;
  env?: Record<string, string>;
}

export class Pipeline<P = Record<string, never>> {
  readonly [PIPELINE] = true;
  readonly name: string;
  readonly paramsSchema?: ParamsSchema;
  readonly profiles: Readonly<Record<string, Record<string, unknown>>>;
  readonly pools: Readonly<Record<string, number>>;
  readonly description?: string;
  readonly steps = new Map<string, StepDef>();
  /** Schedules, sensors, monitors and run-status triggers, as declared; `compileTriggers` fills defaults. */
  readonly triggers = new Map<string, TriggerDecl>();
  /** Set by the module loader: the absolute path of the module that defines this pipeline. */
  modulePath?: string;

  constructor(name: string, opts: PipelineOptions<ParamsSchema | undefined> = {}) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      throw new TrainyardError("PIPELINE_INVALID", `pipeline name "${name}" is not valid`, {
        hint: "use letters, digits, '-', '_' and '.', starting with a letter or digit",
      });
    }
    this.name = name;
    this.paramsSchema = opts.params;
    this.profiles = opts.profiles ?? {};
    this.pools = opts.pools ?? {};
    this.description = opts.description;
  }

  /** An inline TypeScript step (set `isolate` to run it in a child process). */
  step<O, const K extends ParamKey<P> = never, const I extends Inputs = {}>(
    id: string,
    spec: StepSpec<P, K, I, O>,
  ): StepRef<Awaited<O>> {
    const { inputs, params, run, ...options } = spec;
    this.add({ id, kind: "inline", inputs: inputs ?? {}, params: params ?? [], run, options });
    return makeRef(id);
  }

  /** Fans out over a list computed at run time; the output is the list of item results. */
  map<T, O, const K extends ParamKey<P> = never, const I extends Inputs = {}>(
    id: string,
    spec: MapSpec<P, K, I, T, O>,
  ): StepRef<Awaited<O>[]> {
    const { over, inputs, params, run, ...options } = spec;
    this.add({ id, kind: "map", over, inputs: inputs ?? {}, params: params ?? [], run, options });
    return makeRef(id);
  }

  /** A step that runs any program, with input artifacts handed over as files. */
  command<
    const Out extends Record<string, CommandOutputSpec> = { out: "directory" },
    const K extends ParamKey<P> = never,
    const I extends Inputs = {},
  >(id: string, spec: CommandStepSpec<P, K, I, Out>): StepRef<CommandOutputs<Out>> {
    const { inputs, params, run, files, outputs, env, ...options } = spec;
    this.add({
      id,
      kind: "command",
      inputs: inputs ?? {},
      params: params ?? [],
      options,
      command: { run: run as never, files: files ?? [], outputs: outputs ?? { out: "directory" }, env },
    });
    return makeRef(id);
  }

  /** A reference to an existing step, for wiring across helper functions. */
  ref<O = unknown>(id: string): StepRef<O> {
    if (!this.steps.has(id))
      throw new TrainyardError("MISSING_INPUT", `pipeline "${this.name}" has no step "${id}"`, { step: id });
    return makeRef(id);
  }

  /** Requests a run on a cron schedule, read in an IANA time zone. */
  schedule(name: string, spec: ScheduleSpec<P>): this {
    return this.addTrigger({ kind: "schedule", name, spec });
  }

  /**
   * Requests a run when new content lands in a folder (a new digest, once the file is stable),
   * when a SQL query's result changes (`sql`), or when a function returns a new key (`evaluate`).
   */
  sensor(name: string, spec: SensorSpec<P>): this {
    return this.addTrigger({ kind: "sensor", name, spec });
  }

  /** Requests a run when a run of another pipeline ends with one of the given statuses. */
  onRunStatus(name: string, spec: RunStatusSpec<P>): this {
    return this.addTrigger({ kind: "run-status", name, spec });
  }

  /** Requests a run when a served model's metric stays past its threshold (evaluated by the daemon). */
  monitor(name: string, spec: MonitorSpec<P>): this {
    return this.addTrigger({ kind: "monitor", name, spec });
  }

  private addTrigger(decl: TriggerDecl): this {
    if (this.triggers.has(decl.name)) {
      throw new TrainyardError("TRIGGER_INVALID", `pipeline "${this.name}" declares trigger "${decl.name}" twice`, {
        trigger: decl.name,
        hint: "give each trigger of a pipeline a unique name",
      });
    }
    // Validated now, so a bad declaration fails when the module loads rather than in the daemon.
    compileTrigger(decl, this);
    this.triggers.set(decl.name, decl);
    return this;
  }

  private add(def: StepDef): void {
    if (!STEP_ID.test(def.id)) {
      throw new TrainyardError("PIPELINE_INVALID", `step id "${def.id}" is not valid`, {
        step: def.id,
        hint: "step ids start with a letter and use letters, digits, '_', '-' and '.'",
      });
    }
    if (this.steps.has(def.id)) {
      throw new TrainyardError("DUPLICATE_STEP", `pipeline "${this.name}" defines step "${def.id}" twice`, {
        step: def.id,
        hint: "give each step a unique id",
      });
    }
    this.steps.set(def.id, def);
  }
}

/** Starts a pipeline definition. Params are a zod object schema with defaults. */
export function pipeline<S extends ParamsSchema | undefined = undefined>(
  name: string,
  opts: PipelineOptions<S> = {},
): Pipeline<S extends ParamsSchema ? ParamsOf<S> : Record<string, never>> {
  return new Pipeline(name, opts) as never;
}

export function isPipeline(value: unknown): value is Pipeline<any> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PIPELINE] === true;
}
