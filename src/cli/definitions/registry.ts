/** Definitions of the model registry commands and the model server. */
import type { CommandDef, OptionDef } from "../command-def.js";

const JSON_OUT: OptionDef = { type: "boolean", description: "print JSON instead of text" };
const ALIAS: OptionDef = { type: "string", value: "NAME", description: "the alias to move, e.g. production" };
const ACTOR: OptionDef = { type: "string", value: "NAME", description: "who is recorded as moving it", default: "cli" };
const models = async () => import("../commands/models.js");

export const modelsDef: CommandDef = {
  name: "models",
  summary: "registered models, versions, metrics, gate verdicts and aliases; promote and roll back",
  subcommands: [
    {
      name: "list",
      summary: "every registered model with its latest version and aliases",
      options: { json: JSON_OUT },
      examples: ["trainyard models list"],
      load: async () => (await models()).listModelsCommand,
    },
    {
      name: "show",
      summary: "a model's versions and alias history, or one version in full",
      positionals: [{ name: "model", description: "name, name@version or name@alias" }],
      options: { json: JSON_OUT },
      examples: ["trainyard models show flight-delays", "trainyard models show flight-delays@production"],
      load: async () => (await models()).showModelCommand,
    },
    {
      name: "promote",
      summary: "point an alias at a version (runs deploy hooks; recorded with actor and reason)",
      positionals: [{ name: "model@version", description: "the version to promote" }],
      options: {
        alias: ALIAS,
        force: { type: "boolean", description: "promote past failed gates (needs --reason; pins the alias)" },
        reason: { type: "string", value: "TEXT", description: "why, recorded in the alias history" },
        actor: ACTOR,
        json: JSON_OUT,
      },
      examples: ["trainyard models promote flight-delays@7 --alias production"],
      load: async () => (await models()).promoteCommand,
    },
    {
      name: "rollback",
      summary: "move an alias back to the version it pointed at before, and pin it there",
      positionals: [{ name: "model", description: "the model's name" }],
      options: {
        alias: ALIAS,
        reason: { type: "string", value: "TEXT", description: "why, recorded in the alias history" },
        actor: ACTOR,
        json: JSON_OUT,
      },
      examples: ['trainyard models rollback flight-delays --alias production --reason "latency regression"'],
      load: async () => (await models()).rollbackCommand,
    },
    {
      name: "unpin",
      summary: "let automated runs move a pinned alias again",
      positionals: [{ name: "model", description: "the model's name" }],
      options: {
        alias: ALIAS,
        reason: { type: "string", value: "TEXT", description: "why (required), recorded in the alias history" },
        actor: ACTOR,
        json: JSON_OUT,
      },
      examples: ['trainyard models unpin flight-delays --alias production --reason "fixed in v9"'],
      load: async () => (await models()).unpinCommand,
    },
  ],
};

const ms = (description: string, fallback: string): OptionDef => ({
  type: "string",
  value: "MS",
  description,
  default: fallback,
});

export const serveDef: CommandDef = {
  name: "serve",
  summary: "serve model aliases over HTTP; hot-reloads when an alias moves",
  options: {
    port: { type: "string", value: "N", description: "port to listen on (0: any free port)", default: "8080" },
    host: { type: "string", value: "ADDR", description: "address to listen on", default: "127.0.0.1" },
    model: {
      type: "string",
      value: "NAME[@ALIAS]",
      multiple: true,
      description: "serve only these aliases (default: all)",
    },
    "log-sample": { type: "string", value: "F", description: "fraction of predictions logged", default: "0.01" },
    "row-key": {
      type: "string",
      value: "COLUMN",
      description: "request column that identifies a row in the prediction log",
    },
    "max-body": { type: "string", value: "BYTES", description: "largest request body accepted", default: "1048576" },
    token: {
      type: "string",
      value: "T",
      description: "bearer token required of clients (prefer $TRAINYARD_SERVE_TOKEN)",
    },
    "headers-timeout-ms": ms("time allowed for a request's headers", "10000"),
    "request-timeout-ms": ms("time allowed for a whole request", "30000"),
    "keep-alive-timeout-ms": ms("how long an idle keep-alive connection stays open", "5000"),
    "idle-timeout-ms": ms("socket idle timeout (0: none)", "60000"),
    "log-max-age-days": {
      type: "string",
      value: "D",
      description: "prediction log retention (0: no age limit)",
      default: "30",
    },
    "log-max-rows": {
      type: "string",
      value: "N",
      description: "prediction log rows kept (0: no limit)",
      default: "1000000",
    },
  },
  examples: ["trainyard serve --port 8080 --model flight-delays@production"],
  load: async () => (await import("../commands/serve.js")).serveCommand,
};
