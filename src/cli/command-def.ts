/**
 * A command as plain data: its name, arguments, options and examples. The parser (args.ts), the
 * help text and docs/cli.md (help.ts) are all generated from it, so they cannot disagree.
 */
import type { ParsedArgs } from "./args.js";

export interface OptionDef {
  /** "string" options take a value; "boolean" ones do not. */
  type: "string" | "boolean";
  /** One line for the help text. */
  description: string;
  /** The value's placeholder in the help text, e.g. "N" or "k=v". @default "VALUE" */
  value?: string;
  /** The option may be given several times (each value is kept). @default false */
  multiple?: boolean;
  /** A one-letter alias, e.g. "q" for -q. */
  short?: string;
  /** Used when the option is absent; shown in the help text. */
  default?: string;
  /** The value may be left out (`--force` alone); it is taken only when the next word is not an option. */
  optionalValue?: boolean;
}

export interface PositionalDef {
  name: string;
  description: string;
  /** @default false */
  optional?: boolean;
  /** Takes every remaining word. @default false */
  variadic?: boolean;
}

/** What a command does once its arguments are parsed; `argv` is the raw words after its name. */
export type CommandRun = (args: ParsedArgs, argv: string[]) => Promise<number>;

export interface CommandDef {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** A few more lines for the command's own help. */
  details?: string;
  positionals?: PositionalDef[];
  options?: Record<string, OptionDef>;
  /** Takes --home, --config and --metadata-url. @default true */
  opensHome?: boolean;
  /** Full command lines, the first shown in the command list's reference. */
  examples?: string[];
  /** Loads the command's module on use, so one command's start-up never pays for another's imports. */
  load?: () => Promise<CommandRun>;
  /** `trainyard models promote ...`: the first word picks one of these. */
  subcommands?: CommandDef[];
}

/** The options of every command that opens a home (see open-home.ts). */
export const HOME_OPTIONS: Record<string, OptionDef> = {
  home: {
    type: "string",
    value: "DIR",
    description: "the home (default $TRAINYARD_HOME, the config's home, or ./.trainyard)",
  },
  config: {
    type: "string",
    value: "FILE",
    description: "trainyard.config.ts to use (default: next to the pipeline module, else in the working directory)",
  },
  "metadata-url": {
    type: "string",
    value: "URL",
    description: "a PostgreSQL metadata store (default $TRAINYARD_METADATA_URL, the config's, or <home>/metadata.db)",
  },
};

export const HELP_OPTION: OptionDef = { type: "boolean", short: "h", description: "print this help" };

/** Every option a command accepts, in help order: its own, the home's, then --help. */
export function optionsOf(def: CommandDef): Record<string, OptionDef> {
  return { ...def.options, ...(def.opensHome === false ? {} : HOME_OPTIONS), help: HELP_OPTION };
}

/** `run <pipeline.ts>` or `models promote <name@version>`, for usage lines. */
export function usageLine(path: string[], def: CommandDef): string {
  if (def.subcommands)
    return `usage: trainyard ${path.join(" ")} <${def.subcommands.map((s) => s.name).join("|")}> ...`;
  const words = (def.positionals ?? []).map((p) => {
    const name = p.variadic ? `${p.name}...` : p.name;
    return p.optional ? `[${name}]` : `<${name}>`;
  });
  return ["usage: trainyard", ...path, ...words, "[options]"].join(" ");
}
