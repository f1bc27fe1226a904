/** Definitions of the commands that read what runs recorded: runs, steps, logs, lineage, reports. */
import type { CommandDef, OptionDef } from "../command-def.js";

const RUN = { name: "run", description: "a run id or a unique prefix of one (see `trainyard runs`)" };
const STEP = { name: "step", description: "a step id of that run" };
const JSON_OUT: OptionDef = { type: "boolean", description: "print JSON instead of text" };

export const runsDef: CommandDef = {
  name: "runs",
  summary: "the runs of this home, newest first",
  options: {
    pipeline: { type: "string", value: "NAME", description: "only runs of this pipeline" },
    status: { type: "string", value: "S", description: "only runs with this status (succeeded, failed, running, ...)" },
    trigger: { type: "string", value: "KIND[:NAME]", description: "only runs started this way, e.g. schedule" },
    limit: { type: "string", value: "N", description: "runs per page", default: "20" },
    cursor: { type: "string", value: "C", description: "the next page, as printed after the last one" },
    json: JSON_OUT,
  },
  examples: ["trainyard runs --pipeline flight-delays --status failed"],
  load: async () => (await import("../commands/inspect.js")).runsCommand,
  subcommands: [
    {
      name: "compare",
      summary: "params, metrics (best and final) and tags of runs side by side, the rows where they differ first",
      positionals: [{ name: "run", description: "two runs or more (ids or unique prefixes)", variadic: true }],
      options: {
        differences: { type: "boolean", description: "only the rows where the runs differ" },
        json: JSON_OUT,
      },
      examples: ["trainyard runs compare 20261206-101500-a1b2c3 20261206-103000-d4e5f6"],
      load: async () => (await import("../commands/runs-compare.js")).runsCompareCommand,
    },
  ],
};

export const showDef: CommandDef = {
  name: "show",
  summary: "a run, its steps, their status and errors (with the line of the user's code that threw)",
  positionals: [RUN],
  options: { json: JSON_OUT },
  examples: ["trainyard show 20260301-101500-a1b2c3"],
  load: async () => (await import("../commands/inspect.js")).showCommand,
};

export const logsDef: CommandDef = {
  name: "logs",
  summary: "a step's log lines, its output and, when it failed, its error",
  positionals: [RUN, STEP],
  options: {
    attempt: { type: "string", value: "N", description: "only this attempt (default: every attempt)" },
    item: { type: "string", value: "I", description: "only this item of a map step" },
    follow: {
      type: "boolean",
      short: "f",
      description:
        "print lines as they are written (also a step running on a worker) until the step ends, waiting " +
        "for a run still queued; exit 1 unless it succeeded. With --json, one object per line",
    },
    json: JSON_OUT,
  },
  examples: [
    "trainyard logs 20260301-101500-a1b2c3 train | tail -20",
    "trainyard logs -f 20260301-101500-a1b2c3 train",
  ],
  load: async () => (await import("../commands/inspect.js")).logsCommand,
};

export const whyDef: CommandDef = {
  name: "why",
  summary: "the cache decision for a step in a run and what changed",
  positionals: [RUN, STEP],
  options: { json: JSON_OUT },
  examples: ["trainyard why 20260301-101500-a1b2c3 train"],
  load: async () => (await import("../commands/inspect.js")).whyCommand,
};

export const lineageDef: CommandDef = {
  name: "lineage",
  summary: "which step runs wrote and read an artifact or model, back to the raw data",
  positionals: [
    { name: "target", description: "an artifact digest (or a unique prefix), or model@version / model@alias" },
  ],
  options: { json: JSON_OUT },
  examples: ["trainyard lineage flight-delays@production", "trainyard lineage 3f2a9c01d4e5"],
  load: async () => (await import("../commands/models.js")).lineageCommand,
};

export const reportDef: CommandDef = {
  name: "report",
  summary: "the path of the HTML report a step wrote (validate, profile, drift, evaluate)",
  positionals: [
    { name: "run-or-digest", description: "a run id (then a step) or the digest of a report or step output" },
    { name: "step", description: "the step whose report to find, after a run id", optional: true },
  ],
  options: { json: { type: "boolean", description: "print the paths as a JSON array" } },
  examples: ["trainyard report 20260301-101500-a1b2c3 validate", 'open "$(trainyard report <run> evaluate)"'],
  load: async () => (await import("../commands/report.js")).reportCommand,
};
