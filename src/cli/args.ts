/**
 * Argument parsing on node:util's parseArgs, driven by a command's definition (command-def.ts):
 * positionals, `--flag`, `--key value`, `--key=value`, repeatable keys, `--` ends the options.
 */
import { parseArgs as parseWords } from "node:util";
import { didYouMean } from "../core/did-you-mean.js";
import { TrainyardError } from "../core/errors.js";
import { optionsOf, type CommandDef, type OptionDef } from "./command-def.js";

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
  /** The command's words, e.g. ["models", "promote"], for messages. */
  command?: string[];
}

/** Parses a command's words as its definition declares them; USAGE errors name the option and the fix. */
export function parseCommandArgs(argv: readonly string[], def: CommandDef, path: string[] = [def.name]): ParsedArgs {
  const options = optionsOf(def);
  const help = `run \`trainyard help ${path.join(" ")}\` for its options`;
  const words = takeOptionalValues(argv, options);
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple: true }> = {};
  for (const [name, o] of Object.entries(options))
    config[name] = { type: o.type, multiple: true, ...(o.short ? { short: o.short } : {}) };
  let parsed;
  try {
    parsed = parseWords({ args: words, options: config, allowPositionals: true, strict: false, tokens: true });
  } catch (err) {
    throw new TrainyardError("USAGE", (err as Error).message, { hint: help });
  }
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  for (const token of parsed.tokens ?? []) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const option = options[token.name];
    if (!option) {
      const known = Object.keys(options).map((k) => `--${k}`);
      const suggestion = didYouMean(`--${token.name}`, known);
      const message = `unknown option ${token.rawName} for \`trainyard ${path.join(" ")}\`${suggestion}`;
      throw new TrainyardError("USAGE", message, { hint: help });
    }
    if (option.type === "boolean" && token.value !== undefined) {
      throw new TrainyardError("USAGE", `option --${token.name} takes no value`, { hint: help });
    }
    if (option.type === "string" && token.value === undefined) {
      throw new TrainyardError(
        "USAGE",
        `option --${token.name} needs a value (--${token.name} ${option.value ?? "VALUE"})`,
        { hint: help },
      );
    }
    flags.set(token.name, [...(flags.get(token.name) ?? []), token.value ?? "true"]);
  }
  for (const [name, o] of Object.entries(options))
    if (o.default !== undefined && !flags.has(name)) flags.set(name, [o.default]);
  return { positionals, flags, command: path };
}

/** `--force` alone becomes `--force=`; `--force step` keeps its value unless the word is an option or a module path. */
function takeOptionalValues(argv: readonly string[], options: Record<string, OptionDef>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === "--") return [...out, ...argv.slice(i)];
    const option = word.startsWith("--") && !word.includes("=") ? options[word.slice(2)] : undefined;
    if (!option?.optionalValue) {
      out.push(word);
      continue;
    }
    const next = argv[i + 1];
    const takesNext = next !== undefined && !next.startsWith("-") && !/\.(m?[jt]s)$/.test(next);
    out.push(takesNext ? `${word}=${argv[++i]}` : `${word}=`);
  }
  return out;
}

/** Options of a command written before definitions: only which take a value. */
export interface ArgSpec {
  values?: readonly string[];
  booleans?: readonly string[];
  optionalValues?: readonly string[];
}

/**
 * For commands not yet given a definition: parses by an ArgSpec (its options get no help text).
 * New commands declare a CommandDef instead and receive their ParsedArgs from main.ts.
 */
export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const options: Record<string, OptionDef> = {};
  for (const name of spec.values ?? []) options[name] = { type: "string", description: "", multiple: true };
  for (const name of spec.booleans ?? []) options[name] = { type: "boolean", description: "" };
  for (const name of spec.optionalValues ?? [])
    options[name] = { type: "string", description: "", optionalValue: true };
  return parseCommandArgs(argv, { name: "command", summary: "", options }, []);
}

export function usage(message: string): TrainyardError {
  return new TrainyardError("USAGE", message, { hint: "run `trainyard help` for the commands and their options" });
}

export function one(args: ParsedArgs, key: string): string | undefined {
  const v = args.flags.get(key);
  return v?.[v.length - 1];
}

export function has(args: ParsedArgs, key: string): boolean {
  return args.flags.has(key);
}

/** `--param k=v` pairs as a record. */
export function keyValues(args: ParsedArgs, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of args.flags.get(key) ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw usage(`--${key} expects name=value, got "${kv}"`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration flag: "30d", "12h", "15m", "0" -> ms, in the units allowed (letters of "smhd"). */
export function durationFlag(args: ParsedArgs, flag: string, units: string): number | undefined {
  const text = one(args, flag);
  if (text === undefined) return undefined;
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m || (m[2] && !units.includes(m[2])) || (!m[2] && m[1] !== "0")) {
    throw usage(
      `--${flag} expects a duration such as ${units.includes("m") ? "1h, 30m or 0" : "30d or 12h"}, got "${text}"`,
    );
  }
  return Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
}

export function intFlag(args: ParsedArgs, key: string): number | undefined {
  const v = one(args, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw usage(`--${key} expects a positive integer, got "${v}"`);
  return n;
}

/** `--force` alone is every step (true); `--force a --force b` lists steps. */
export function forceFlag(args: ParsedArgs): true | string[] | undefined {
  const values = args.flags.get("force");
  if (values === undefined) return undefined;
  return values.includes("") ? true : values;
}
