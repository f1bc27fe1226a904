/** Definitions of the commands that check, plan, run and resume pipelines. */
import type { CommandDef, OptionDef } from "../command-def.js";

const PIPELINE = { name: "pipeline.ts", description: "a TypeScript module that default-exports a pipeline" };

const PARAMS: Record<string, OptionDef> = {
  param: {
    type: "string",
    value: "k=v",
    multiple: true,
    description: "set a pipeline param, coerced to its declared type",
  },
  profile: { type: "string", value: "NAME", description: "apply a profile of params (the module's or the config's)" },
};

const FORCE: OptionDef = {
  type: "string",
  value: "STEP",
  optionalValue: true,
  multiple: true,
  description: "recompute STEP (or every step, without a value) instead of reusing the cache",
};

const NO_TYPECHECK: OptionDef = {
  type: "boolean",
  description: "skip the type check (it is cached by the content of the module and its local imports)",
};

export const runDef: CommandDef = {
  name: "run",
  summary: "run a pipeline; exits 0 only if the run succeeded",
  details: "Type-checks the module first, then runs every step whose cache key has no stored result.",
  positionals: [PIPELINE],
  options: {
    ...PARAMS,
    concurrency: {
      type: "string",
      value: "N",
      description: "steps run at once (default: the config's, else the CPUs; a queue run: its workers' slots)",
    },
    force: FORCE,
    json: { type: "boolean", description: "print a JSON summary instead of text" },
    quiet: { type: "boolean", short: "q", description: "no progress lines" },
    "no-typecheck": NO_TYPECHECK,
    "run-id": {
      type: "string",
      value: "ID",
      description: "use this run id (the daemon sets it); refused if it exists",
    },
    trigger: {
      type: "string",
      value: "KIND:NAME",
      description: "what started the run, e.g. schedule:nightly",
      default: "manual",
    },
  },
  examples: [
    "trainyard run examples/flight-delays/pipeline.ts --param trainSample=0.1",
    "trainyard run pipeline.ts --force train --json",
  ],
  load: async () => (await import("../commands/run.js")).runCommand,
};

export const planDef: CommandDef = {
  name: "plan",
  summary: "what a run would run and what it would reuse, and why",
  positionals: [PIPELINE],
  options: {
    ...PARAMS,
    force: FORCE,
    json: { type: "boolean", description: "print the plan as JSON" },
    "no-typecheck": NO_TYPECHECK,
  },
  examples: ["trainyard plan examples/flight-delays/pipeline.ts --param trainSample=0.1"],
  load: async () => (await import("../commands/run.js")).planCommand,
};

export const checkDef: CommandDef = {
  name: "check",
  summary: "type-check a pipeline module and its local imports; exits 1 on a type error",
  details: "Reports each error at file:line:col and says in words which wiring is wrong.",
  positionals: [PIPELINE],
  options: { json: { type: "boolean", description: "print the diagnostics as JSON" } },
  opensHome: false,
  examples: ["trainyard check examples/flight-delays/pipeline.ts"],
  load: async () => (await import("../commands/check.js")).checkCommand,
};

export const resumeDef: CommandDef = {
  name: "resume",
  summary: "continue an interrupted or failed run, reusing the steps that had succeeded",
  positionals: [{ name: "run", description: "a run id or a unique prefix of one (see `trainyard runs`)" }],
  options: {
    concurrency: { type: "string", value: "N", description: "steps run at once (default: the run's own setting)" },
    json: { type: "boolean", description: "print a JSON summary instead of text" },
    quiet: { type: "boolean", short: "q", description: "no progress lines" },
  },
  examples: ["trainyard resume 20260301-101500-a1b2c3"],
  load: async () => (await import("../commands/run.js")).resumeCommand,
};

export const cancelDef: CommandDef = {
  name: "cancel",
  summary: "cancel a queued or running run (a running one is sent SIGTERM and ends cancelled)",
  positionals: [{ name: "run", description: "a run id or a unique prefix" }],
  options: { json: { type: "boolean", description: "print JSON instead of text" } },
  examples: ["trainyard cancel 20261206-101500-3f2a1c"],
  load: async () => (await import("../commands/cancel.js")).cancelCommand,
};

export const initDef: CommandDef = {
  name: "init",
  summary:
    "scaffold a project: package.json, tsconfig, a pipeline on the shipped penguins data, its test, a .gitignore",
  details: "Existing files are kept (package.json and .gitignore are completed); --force replaces them.",
  positionals: [
    { name: "dir", description: "the folder to scaffold (default: the working directory)", optional: true },
  ],
  options: { force: { type: "boolean", description: "replace existing files" } },
  opensHome: false,
  examples: ["trainyard init my-project"],
  load: async () => (await import("../commands/init.js")).initCommand,
};
