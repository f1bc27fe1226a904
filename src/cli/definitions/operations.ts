/** Definitions of the commands that keep a home running: daemon, triggers, gc, fsck, contracts. */
import type { CommandDef, OptionDef } from "../command-def.js";
import { serveDef } from "./registry.js";

const JSON_OUT: OptionDef = { type: "boolean", description: "print JSON instead of text" };
const PIPELINE = { name: "pipeline.ts", description: "a TypeScript module that default-exports a pipeline" };
const TRIGGER_NAME = { name: "trigger", description: "<pipeline>/<name>, or just <name> when it is unique" };
const NOW: OptionDef = { type: "string", value: "ISO", description: "evaluate as if it were this time (default: now)" };

export const daemonDef: CommandDef = {
  name: "daemon",
  summary: "evaluate the modules' triggers and launch runs (one leader per home); SIGTERM drains",
  positionals: [
    { name: "pipeline.ts", description: "modules whose triggers to evaluate", optional: true, variadic: true },
  ],
  options: {
    "max-concurrent-runs": { type: "string", value: "N", description: "runs launched at once (default 4)" },
    "pipeline-limit": {
      type: "string",
      value: "NAME=N",
      multiple: true,
      description: "at most N concurrent runs of NAME",
    },
    interval: { type: "string", value: "MS", description: "how often triggers are evaluated (default 1000)" },
    "lease-ttl": { type: "string", value: "MS", description: "the leader lease's time to live (default 10000)" },
    "launch-grace": { type: "string", value: "MS", description: "time a launched run has to appear (default 60000)" },
    "drain-timeout": { type: "string", value: "MS", description: "time running runs get on SIGTERM (default 30000)" },
    "orphan-scan": {
      type: "string",
      value: "MS",
      description: "how often orphaned runs are looked for (default 5000)",
    },
    "health-port": {
      type: "string",
      value: "N",
      description: "answer /healthz (alive) and /readyz (leading) on this port, on every interface",
    },
  },
  examples: ["trainyard daemon examples/flight-delays/pipeline.ts --max-concurrent-runs 2"],
  load: async () => (await import("../commands/daemon.js")).daemonCommand,
};

export const uiDef: CommandDef = {
  name: "ui",
  summary: "the web UI and the HTTP API (/api/v1) of this home; beyond loopback a token is required",
  positionals: [
    { name: "pipeline.ts", description: "modules to offer in the launch form", optional: true, variadic: true },
  ],
  options: {
    port: { type: "string", value: "N", description: "port to listen on (0: any free port)", default: "8321" },
    host: { type: "string", value: "ADDR", description: "address to listen on", default: "127.0.0.1" },
    token: { type: "string", value: "T", description: "API token (default $TRAINYARD_API_TOKEN, or generated)" },
    "read-only": { type: "boolean", description: "refuse every change (launch, cancel, promote, pause...)" },
    "no-launch": { type: "boolean", description: "only queue requested runs for the daemon, never start them here" },
    "max-body": { type: "string", value: "BYTES", description: "largest request body (default 1 MiB)" },
  },
  examples: ["trainyard ui examples/flight-delays/pipeline.ts"],
  load: async () => (await import("../commands/ui.js")).uiCommand,
};

export const upDef: CommandDef = {
  name: "up",
  summary: "the daemon, the model server and the web UI in one process; one SIGTERM drains them all",
  details:
    "Takes the options of `trainyard daemon` and `trainyard serve`. A part that stops on its own stops the others.",
  positionals: daemonDef.positionals,
  options: {
    ...daemonDef.options,
    ...serveDef.options,
    "ui-port": { type: "string", value: "N", description: "the web UI's port (0: any free port)", default: "8321" },
    "no-ui": { type: "boolean", description: "run the daemon and the model server only" },
  },
  examples: ["trainyard up examples/flight-delays/pipeline.ts --port 8080"],
  load: async () => {
    const { upCommand } = await import("../commands/up.js");
    return (args) => upCommand(args);
  },
};

export const statusDef: CommandDef = {
  name: "status",
  summary: "the daemon's heartbeat, each trigger's last tick and lag, queued and running runs",
  details: "Exits 1 when the daemon is stale or missing, or a trigger fails.",
  options: {
    "stale-after": { type: "string", value: "MS", description: "heartbeat age that counts as stale (default 10000)" },
    json: JSON_OUT,
  },
  examples: ["trainyard status"],
  load: async () => (await import("../commands/status.js")).statusCommand,
};

const triggers = async () => import("../commands/triggers.js");
const triggerState = async () => import("../commands/trigger-state.js");

export const triggersDef: CommandDef = {
  name: "triggers",
  summary: "a pipeline's schedules, sensors and monitors; a trigger's ticks; pause or resume one",
  subcommands: [
    {
      name: "list",
      summary: "the module's schedules, sensors, monitors and run-status triggers",
      positionals: [PIPELINE],
      options: { now: NOW, json: JSON_OUT },
      examples: ["trainyard triggers list examples/flight-delays/pipeline.ts"],
      load: async () => (await triggers()).listTriggersCommand,
    },
    {
      name: "preview",
      summary: "evaluate one trigger once and print the runs it would request; launches nothing",
      positionals: [PIPELINE, { name: "name", description: "the trigger's name" }],
      options: {
        since: { type: "string", value: "ISO", description: "evaluate from this time (default: the ticks to come)" },
        now: NOW,
        count: { type: "string", value: "N", description: "upcoming schedule ticks shown", default: "5" },
        json: JSON_OUT,
      },
      examples: ["trainyard triggers preview examples/flight-delays/pipeline.ts nightly --since 2026-03-01T00:00:00Z"],
      load: async () => (await triggers()).previewTriggerCommand,
    },
    {
      name: "history",
      summary: "a trigger's ticks with their reasons, newest first",
      positionals: [TRIGGER_NAME],
      options: { limit: { type: "string", value: "N", description: "ticks shown", default: "20" }, json: JSON_OUT },
      examples: ["trainyard triggers history flight-delays/nightly"],
      load: async () => (await triggerState()).triggerStateCommand("history"),
    },
    {
      name: "pause",
      summary: "stop a trigger from requesting runs; its schedule slots are recorded as skipped",
      positionals: [TRIGGER_NAME],
      examples: ["trainyard triggers pause flight-delays/nightly"],
      load: async () => (await triggerState()).triggerStateCommand("pause"),
    },
    {
      name: "unpause",
      summary: "let a paused trigger request runs again",
      positionals: [TRIGGER_NAME],
      examples: ["trainyard triggers unpause flight-delays/nightly"],
      load: async () => (await triggerState()).triggerStateCommand("unpause"),
    },
  ],
};

export const triggerDef: CommandDef = {
  name: "trigger",
  summary: "ask the daemon for a run; params are validated as `run` validates them",
  positionals: [PIPELINE],
  options: {
    param: { type: "string", value: "k=v", multiple: true, description: "set a pipeline param" },
    profile: { type: "string", value: "NAME", description: "apply a profile of params" },
    "idempotency-key": { type: "string", value: "KEY", description: "a second request with the same key is ignored" },
    json: JSON_OUT,
  },
  examples: ["trainyard trigger examples/flight-delays/pipeline.ts --param trainSample=0.1"],
  load: async () => {
    const { triggerCommand } = await import("../commands/trigger.js");
    return (args) => triggerCommand(args);
  },
};

export const gcDef: CommandDef = {
  name: "gc",
  summary:
    "remove artifacts (and task fences, finished queue jobs, log files) that no run, model or retention rule needs",
  options: {
    "keep-last": { type: "string", value: "N", description: "keep the outputs of each pipeline's last N runs" },
    "older-than": {
      type: "string",
      value: "AGE",
      description: "only runs older than this, e.g. 30d or 12h; resumable runs' task fences too",
    },
    grace: {
      type: "string",
      value: "AGE",
      description: "spare objects written (and queue jobs finished) within this time, e.g. 1h",
    },
    "keep-jobs": {
      type: "string",
      value: "N",
      description: "with a queue executor: finished jobs of each state kept per queue (default 10000)",
    },
    "dry-run": { type: "boolean", description: "say what would be removed; remove nothing" },
    json: JSON_OUT,
  },
  examples: ["trainyard gc --keep-last 5 --older-than 30d --dry-run"],
  load: async () => (await import("../commands/gc.js")).gcCommand,
};

export const fsckDef: CommandDef = {
  name: "fsck",
  summary: "rehash every stored object, check every reference, list orphans",
  options: {
    repair: { type: "boolean", description: "quarantine corrupt objects and drop dangling records" },
    json: JSON_OUT,
  },
  examples: ["trainyard fsck"],
  load: async () => (await import("../commands/fsck.js")).fsckCommand,
};

export const contractDef: CommandDef = {
  name: "contract",
  summary: "draft a data contract from real data, for a person to edit",
  subcommands: [
    {
      name: "infer",
      summary: "infer a contract (types, ranges, allowed values) from Parquet, CSV or JSON files read as one table",
      positionals: [{ name: "data", description: "files, directories or quoted globs to learn from", variadic: true }],
      options: {
        out: { type: "string", value: "FILE", description: "write the contract module here (default: stdout)" },
        json: { type: "boolean", description: "print the contract as JSON instead of a module" },
      },
      examples: ["trainyard contract infer data/flights.parquet --out contracts/flights.ts"],
      load: async () => (await import("../commands/data.js")).contractInferCommand,
    },
  ],
};
