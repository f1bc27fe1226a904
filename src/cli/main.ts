/** The `trainyard` command: parses the command name and hands over to its module, loaded lazily. */
import { describeError, formatError, isTrainyardError } from "../core/errors.js";
import { red } from "./format.js";

export const HELP = `trainyard — ML pipelines: typed steps, content-addressed artifacts, explained caching

usage: trainyard <command> [options]

  init [dir] [--force]         scaffold a project: package.json, tsconfig, a pipeline on the shipped
                               penguins data, its test, a .gitignore for the home; keeps existing files
  run <pipeline.ts> [--param k=v]... [--profile NAME] [--concurrency N] [--force [STEP]] [--json] [--quiet]
      [--run-id ID] [--trigger KIND:NAME]
                               run a pipeline; exits 0 only if the run succeeded
  plan <pipeline.ts> [--param k=v]... [--profile NAME] [--json]
                               what would run and what would be reused, and why
  why <run> <step> [--json]    the cache decision for a step and what changed
  resume <run> [--concurrency N]   continue an interrupted or failed run
  runs [--pipeline NAME] [--status S] [--trigger KIND[:NAME]] [--limit N] [--cursor C] [--json]
  show <run> [--json]          a run, its steps, their status and errors
  logs <run> <step> [--attempt N] [--item I]
  lineage <artifact-digest | model@version>
                               which step runs wrote and read an artifact, back to the raw data
  models list|show <name>[@version|@alias] [--json]
                               registered models, versions, metrics, gate verdicts, aliases
  models promote <name>@<version> --alias NAME [--force --reason TEXT]
  models rollback <name> --alias NAME [--reason TEXT]
                               move an alias (recorded with actor and reason; runs deploy hooks)
  serve [--port 8080] [--host 127.0.0.1] [--max-body 1MiB] [--log-sample 0.01]
        [--row-key COLUMN] [--model NAME[@ALIAS]]...
                               serve model aliases over HTTP; hot-reloads when an alias moves;
                               --max-body caps a request body (e.g. 4MiB; larger gets 413)
  daemon [pipeline.ts ...] [--max-concurrent-runs N] [--interval MS] [--pipeline-limit NAME=N]...
                               evaluate the modules' triggers and launch runs (one leader per home);
                               SIGTERM drains
  status [--json]              the daemon's heartbeat, each trigger's last tick and lag, queued and running
                               runs; exits 1 when the daemon is stale or a trigger fails
  triggers history|pause|unpause <pipeline/name>
                               a trigger's ticks with their reasons; pause or resume it
  gc [--keep-last N] [--older-than 30d] [--grace 1h] [--dry-run]
                               remove artifacts that no run, model or retention rule needs
  fsck [--repair] [--json]     rehash every stored object, check every reference, list orphans
  contract infer <file|dir|glob>... [--out contract.ts]
                               draft a data contract from real data, for a person to edit
  report <digest>              the path of the HTML report behind a step output or artifact
  triggers list <pipeline.ts> [--now ISO] [--json]
                               the pipeline's schedules, sensors, monitors and run-status triggers
  triggers preview <pipeline.ts> <name> [--since ISO] [--now ISO] [--json]
                               evaluate one trigger once and print the runs it would request; launches nothing
  trigger <pipeline.ts> [--param k=v]... [--profile NAME] [--idempotency-key KEY] [--json]
                               ask the daemon for a run; params are validated as \`run\` validates them

common options: --home DIR (default $TRAINYARD_HOME, the config's home, or ./.trainyard)
  --metadata-url postgres://...  (default $TRAINYARD_METADATA_URL, the config's metadata, or <home>/metadata.db)
  --config FILE  (default trainyard.config.ts next to the pipeline module, else in the working directory)
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./commands/run.js")).runCommand,
  plan: async () => (await import("./commands/run.js")).planCommand,
  resume: async () => (await import("./commands/run.js")).resumeCommand,
  why: async () => (await import("./commands/inspect.js")).whyCommand,
  runs: async () => (await import("./commands/inspect.js")).runsCommand,
  show: async () => (await import("./commands/inspect.js")).showCommand,
  logs: async () => (await import("./commands/inspect.js")).logsCommand,
  lineage: async () => (await import("./commands/models.js")).lineageCommand,
  models: async () => (await import("./commands/models.js")).modelsCommand,
  serve: async () => (await import("./commands/serve.js")).serveCommand,
  gc: async () => (await import("./commands/gc.js")).gcCommand,
  fsck: async () => (await import("./commands/fsck.js")).fsckCommand,
  contract: async () => (await import("./commands/data.js")).contractCommand,
  report: async () => (await import("./commands/data.js")).reportCommand,
  triggers: async () => (await import("./commands/triggers.js")).triggersCommand,
  trigger: async () => (await import("./commands/trigger.js")).triggerCommand,
  daemon: async () => (await import("./commands/daemon.js")).daemonCommand,
  status: async () => (await import("./commands/status.js")).statusCommand,
  init: async () => (await import("./commands/init.js")).initCommand,
};

/** Commands contributed by higher layers register here (data, models, serve). */
export function registerCommand(name: string, load: () => Promise<Command>): void {
  COMMANDS[name] = load;
}

export async function main(argv: string[]): Promise<number> {
  // Stack traces name pipeline sources (from the bundles' inline maps). Trainyard's own modules
  // load first without: reading and parsing their maps cost every command's start; set
  // TRAINYARD_DEBUG to map those frames too.
  if (process.env.TRAINYARD_DEBUG) process.setSourceMapsEnabled(true);
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`${red(`unknown command "${name}"`)}\n\n${HELP}`);
    return 2;
  }
  try {
    const command = await load();
    process.setSourceMapsEnabled(true);
    return await command(rest);
  } catch (err) {
    const info = describeError(err);
    process.stderr.write(`${formatError(info)}\n`);
    if (process.env.TRAINYARD_DEBUG && info.stack) process.stderr.write(`${info.stack}\n`);
    if (isTrainyardError(err) && err.code === "USAGE") return 2;
    return 1;
  }
}
