/** The `trainyard` command: finds the command's definition, parses its words, loads its module lazily. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { didYouMean } from "../core/did-you-mean.js";
import { describeError, formatError, isTrainyardError, TrainyardError } from "../core/errors.js";
import { PACKAGE_ROOT } from "../engine/package-root.js";
import { parseCommandArgs } from "./args.js";
import type { CommandDef } from "./command-def.js";
import { exportDef } from "./definitions/deploying.js";
import { lineageDef, logsDef, reportDef, runsDef, showDef, whyDef } from "./definitions/inspecting.js";
import {
  contractDef,
  daemonDef,
  fsckDef,
  gcDef,
  statusDef,
  triggerDef,
  triggersDef,
  uiDef,
  upDef,
} from "./definitions/operations.js";
import { modelsDef, serveDef } from "./definitions/registry.js";
import { workerDef, workersDef } from "./definitions/distributed.js";
import { cancelDef, checkDef, initDef, planDef, resumeDef, runDef } from "./definitions/running.js";
import { renderCommandHelp, renderTopHelp } from "./help.js";
import { quietOnClosedOutput } from "./closed-output.js";

/**
 * Every command, in the order `trainyard help` lists them. To add a command: declare a
 * `CommandDef` (name, summary, positionals, options with descriptions and defaults, examples,
 * `load`) in src/cli/definitions/, add it here, and run `npm run docs:cli`. Its module exports a
 * `CommandRun`, `(args: ParsedArgs) => Promise<number>`, reading options with one/has/keyValues.
 * Porting a command written as `(argv: string[]) => ...` with a HELP line: the HELP line becomes
 * the summary, each option of its `parseArgs(argv, spec)` a described option, and `load` returns
 * `(args) => command(args)` after its first line `const args = parseArgs(argv, spec)` is dropped
 * (or `(_args, argv) => command(argv)` to keep it unchanged for now: the legacy parseArgs remains).
 */
export const COMMANDS: CommandDef[] = [
  initDef,
  runDef,
  planDef,
  checkDef,
  resumeDef,
  cancelDef,
  runsDef,
  showDef,
  logsDef,
  whyDef,
  lineageDef,
  reportDef,
  modelsDef,
  serveDef,
  daemonDef,
  uiDef,
  upDef,
  statusDef,
  triggersDef,
  triggerDef,
  gcDef,
  fsckDef,
  exportDef,
  contractDef,
  workerDef,
  workersDef,
];

/** The top-level help, generated from COMMANDS. */
export const HELP = renderTopHelp(COMMANDS);

/** Commands contributed by higher layers register here. */
export function registerCommand(def: CommandDef): void {
  const i = COMMANDS.findIndex((c) => c.name === def.name);
  if (i >= 0) COMMANDS[i] = def;
  else COMMANDS.push(def);
}

export function version(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedOutput();
  // Stack traces name pipeline sources (from the bundles' inline maps). Trainyard's own modules
  // load first without: reading and parsing their maps cost every command's start; set
  // TRAINYARD_DEBUG to map those frames too.
  if (process.env.TRAINYARD_DEBUG) process.setSourceMapsEnabled(true);
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(`trainyard ${version()}\n`);
    return 0;
  }
  try {
    if (!name || name === "--help" || name === "-h") {
      process.stdout.write(renderTopHelp(COMMANDS));
      return name ? 0 : 2;
    }
    if (name === "help") return printHelpOf(rest);
    const { def, path, words } = findCommand([name, ...rest]);
    if (words.includes("--help") || words.includes("-h") || (def.subcommands && !def.load)) {
      const asked = words.includes("--help") || words.includes("-h");
      process[asked ? "stdout" : "stderr"].write(renderCommandHelp(def, path));
      return asked ? 0 : 2;
    }
    const args = parseCommandArgs(words, def, path);
    const command = await def.load!();
    // Any command may read a config naming the queue executor (and the run commands start runs on it).
    (await import("../distributed/register-queue-executor.js")).registerQueueExecutor();
    process.setSourceMapsEnabled(true);
    return await command(args, words);
  } catch (err) {
    const info = describeError(err);
    process.stderr.write(`${formatError(info)}\n`);
    if (process.env.TRAINYARD_DEBUG && info.stack) process.stderr.write(`${info.stack}\n`);
    // A prefix of several runs is a usage slip like a wrong flag: the same command with more characters works.
    if (isTrainyardError(err) && (err.code === "USAGE" || err.code === "RUN_AMBIGUOUS")) return 2;
    return 1;
  }
}

/** `trainyard help models promote`. */
function printHelpOf(words: string[]): number {
  if (!words.length) {
    process.stdout.write(renderTopHelp(COMMANDS));
    return 0;
  }
  const { def, path, words: extra } = findCommand(words);
  if (extra.length && !extra[0].startsWith("-")) throw unknownCommand(extra[0], def.subcommands ?? [], path);
  process.stdout.write(renderCommandHelp(def, path));
  return 0;
}

/** The command (or subcommand) the first words name, and the words left for its arguments. */
function findCommand(words: string[]): { def: CommandDef; path: string[]; words: string[] } {
  let def = COMMANDS.find((c) => c.name === words[0]);
  if (!def) throw unknownCommand(words[0], COMMANDS, []);
  const path = [def.name];
  let i = 1;
  while (def.subcommands && words[i] !== undefined && !words[i].startsWith("-")) {
    const sub: CommandDef | undefined = def.subcommands.find((s) => s.name === words[i]);
    // A command that also runs bare (`runs`, `runs compare`) takes other words as its arguments.
    if (!sub && def.load && def.positionals?.length) break;
    if (!sub) throw unknownCommand(words[i], def.subcommands, path);
    def = sub;
    path.push(sub.name);
    i++;
  }
  return { def, path, words: words.slice(i) };
}

function unknownCommand(name: string, known: CommandDef[], path: string[]): TrainyardError {
  const where = path.length ? `subcommand of \`trainyard ${path.join(" ")}\`` : "command";
  const names = known.map((c) => c.name);
  const message = `unknown ${where} "${name}"${didYouMean(name, names)}; expected one of ${names.join(", ")}`;
  const hint = path.length
    ? `run \`trainyard help ${path.join(" ")}\``
    : "run `trainyard help` for the list of commands";
  return new TrainyardError("USAGE", message, { hint });
}
