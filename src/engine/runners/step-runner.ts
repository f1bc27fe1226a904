/**
 * One runner per step kind behind one dispatch: the local executor, an isolated step's child
 * process, a worker and the testing helpers all run a step's work through `dispatchStep`.
 */
import { TrainyardError } from "../../core/errors.js";
import type { StepDef } from "../../core/step.js";
import type { LogSink } from "../log-lines.js";
import type { RunningStepContext } from "../step-context.js";
import type { StoreSpec } from "../store-choice.js";
import { runCommand } from "./command-runner.js";
import { runInline } from "./inline-runner.js";
import { runIsolated } from "./isolated-runner.js";
import type { ShellLauncher } from "./shell-launcher.js";

export type StepRunnerKind = "inline" | "isolated" | "command";

/** A step's work as its runner is given it. */
export interface StepCall {
  /** The step function's arguments: [inputs], or [item, inputs] for a map item. */
  args: unknown[];
  /** Input values by name (a command step gets them as files). */
  inputs: Record<string, unknown>;
  /** A command step runs in this directory (its pipeline module's). */
  moduleDir: string;
  onLog: LogSink;
  /** The bundled pipeline module an isolated step's child process loads. */
  bundlePath?: string;
  /** The run's stores by name, which an isolated step's child opens on `ctx.services()`. */
  stores?: StoreSpec;
  /** The run's helper shells for command steps; absent: each command is spawned directly. */
  launcher?: ShellLauncher;
  /** The command may wait for a helper shell (it was given beyond the slots); told when it starts. */
  staged?: { started(): void };
}

/** What a step's work returned, and the work directory its files are in. */
export interface StepWork {
  value: unknown;
  workdir?: string;
}

export interface StepRunner {
  readonly kind: StepRunnerKind;
  run(def: StepDef, ctx: RunningStepContext, call: StepCall): Promise<StepWork>;
}

const inline: StepRunner = {
  kind: "inline",
  run: async (def, ctx, call) => ({ value: await runInline(def, ctx, call.args) }),
};

const command: StepRunner = {
  kind: "command",
  run: async (def, ctx, call) => ({
    value: await runCommand(def, ctx, call.inputs, call.moduleDir, call.onLog, call.launcher, call.staged),
  }),
};

const isolated: StepRunner = {
  kind: "isolated",
  async run(def, ctx, call) {
    if (!call.bundlePath) {
      throw new TrainyardError(
        "PIPELINE_INVALID",
        `step "${def.id}" is isolated, but its pipeline was not loaded from a module file`,
        {
          step: def.id,
          hint:
            "run the pipeline from its module path (trainyard " +
            "run <file.ts>) so the child process can load the step",
        },
      );
    }
    const task = {
      bundlePath: call.bundlePath,
      stepId: def.id,
      params: ctx.params,
      args: call.args,
      runId: ctx.runId,
      attempt: ctx.attempt,
      itemIndex: ctx.itemIndex,
      workRoot: ctx.workRoot,
      home: ctx.home,
      stores: call.stores,
    };
    return await runIsolated(def, ctx, task, call.onLog);
  },
};

/**
 * The runner of a step's kind. `inThisProcess`: an isolated step runs inline (the process is
 * the isolated step's own child, or a test that wants no child).
 */
export function runnerFor(def: StepDef, opts: { inThisProcess?: boolean } = {}): StepRunner {
  if (def.kind === "command") return command;
  if (def.options.isolate && !opts.inThisProcess) return isolated;
  if (!def.run)
    throw new TrainyardError("PIPELINE_INVALID", `step "${def.id}" has neither a function nor a command`, {
      step: def.id,
      hint: "give the step a function (step(...)) or a command (command(...))",
    });
  return inline;
}

/** Runs a step's work with the runner of its kind. */
export function dispatchStep(
  def: StepDef,
  ctx: RunningStepContext,
  call: StepCall,
  opts: { inThisProcess?: boolean } = {},
): Promise<StepWork> {
  return runnerFor(def, opts).run(def, ctx, call);
}
