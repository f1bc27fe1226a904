/** A small argument parser: positionals, `--flag`, `--key value`, `--key=value`, repeatable keys. */
import { TrainyardError } from "../core/errors.js";

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
}

export interface ArgSpec {
  /** Options that take a value. */
  values?: readonly string[];
  /** Options without a value. */
  booleans?: readonly string[];
  /** Options whose value is optional (taken only if the next token is not an option or a module path). */
  optionalValues?: readonly string[];
}

/** Options every command takes: which config and which metadata store (see open-home.ts). */
const COMMON_VALUES = ["config", "metadata-url"];

export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "-") {
      if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) throw usage(`unknown option ${a}`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const key = a.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    if (spec.booleans?.includes(key)) {
      if (inline !== undefined) throw usage(`option --${key} takes no value`);
      add(key, "true");
    } else if (spec.values?.includes(key) || COMMON_VALUES.includes(key)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw usage(`option --${key} needs a value`);
      add(key, v);
    } else if (spec.optionalValues?.includes(key)) {
      const next = argv[i + 1];
      if (inline !== undefined) add(key, inline);
      else if (next !== undefined && !next.startsWith("-") && !/\.(m?[jt]s)$/.test(next)) add(key, argv[++i]);
      else add(key, "");
    } else throw usage(`unknown option --${key}`);
  }
  return { positionals, flags };
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

export function intFlag(args: ParsedArgs, key: string): number | undefined {
  const v = one(args, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw usage(`--${key} expects a positive integer, got "${v}"`);
  return n;
}
