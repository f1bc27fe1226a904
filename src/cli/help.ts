/** Help texts and the Markdown CLI reference, generated from the command definitions. */
import { optionsOf, usageLine, type CommandDef, type OptionDef } from "./command-def.js";

const TITLE = "trainyard — ML pipelines: typed steps, content-addressed artifacts, explained caching";

/** `trainyard help`: every command with its one-line summary. */
export function renderTopHelp(commands: readonly CommandDef[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = [TITLE, "", "usage: trainyard <command> [options]", "", "commands:"];
  for (const c of commands) lines.push(`  ${c.name.padEnd(width)}${c.summary}`);
  lines.push(
    "",
    "`trainyard help <command>` or `trainyard <command> --help` shows a command's options and an example.",
    "`trainyard --version` prints the version.",
    "",
  );
  return lines.join("\n");
}

/** `trainyard <command> --help`: usage, arguments, options with defaults, examples. */
export function renderCommandHelp(def: CommandDef, path: string[]): string {
  const lines = [`${usageLine(path, def)}`, "", def.summary];
  if (def.details) lines.push("", def.details);
  if (def.subcommands) {
    const width = Math.max(...def.subcommands.map((s) => s.name.length)) + 2;
    lines.push("", "subcommands:");
    for (const s of def.subcommands) lines.push(`  ${s.name.padEnd(width)}${s.summary}`);
    lines.push("", `\`trainyard help ${path.join(" ")} <subcommand>\` shows a subcommand's options.`);
  }
  if (def.positionals?.length) {
    lines.push("", "arguments:");
    const width = Math.max(...def.positionals.map((p) => p.name.length)) + 2;
    for (const p of def.positionals) lines.push(`  ${p.name.padEnd(width)}${p.description}`);
  }
  // A command that also runs bare (`runs`) lists its own options beside its subcommands.
  if (!def.subcommands || def.load) {
    const options = Object.entries(optionsOf(def)).map(([name, o]) => [optionWords(name, o), optionText(o)]);
    const width = Math.max(...options.map(([w]) => w.length)) + 2;
    lines.push("", "options:");
    for (const [words, text] of options) lines.push(`  ${words.padEnd(width)}${text}`);
  }
  if (def.examples?.length) lines.push("", "examples:", ...def.examples.map((e) => `  ${e}`));
  return `${lines.join("\n")}\n`;
}

function optionWords(name: string, o: OptionDef): string {
  const short = o.short ? `-${o.short}, ` : "";
  if (o.type === "boolean") return `${short}--${name}`;
  const value = o.value ?? "VALUE";
  return `${short}--${name} ${o.optionalValue ? `[${value}]` : value}`;
}

function optionText(o: OptionDef): string {
  const extras = [o.multiple ? "repeatable" : "", o.default !== undefined ? `default ${o.default}` : ""].filter(
    Boolean,
  );
  return extras.length ? `${o.description} (${extras.join("; ")})` : o.description;
}

/** docs/cli.md: every command and subcommand with its usage, options and examples. */
export function renderCliReference(commands: readonly CommandDef[]): string {
  const out = [
    "# CLI reference",
    "",
    "<!-- Generated from the command definitions in src/cli/definitions/ by `npm run docs:cli`; do not edit. -->",
    "",
    "| command | what it does |",
    "| --- | --- |",
    ...commands.map((c) => `| [\`${c.name}\`](#trainyard-${c.name}) | ${c.summary} |`),
    "",
    "A command that takes a run accepts its full id or its first characters. A prefix that several runs share",
    "fails with `RUN_AMBIGUOUS` (exit code 2), listing the newest five of them (id, pipeline, start, status)",
    "and how many characters tell them apart; a full id always names its own run, even when it begins a longer one.",
    "",
  ];
  const section = (def: CommandDef, path: string[]) => {
    out.push(
      `${path.length > 1 ? "###" : "##"} trainyard ${path.join(" ")}`,
      "",
      "```text",
      renderCommandHelp(def, path).trimEnd(),
      "```",
      "",
    );
    for (const s of def.subcommands ?? []) section(s, [...path, s.name]);
  };
  for (const c of commands) section(c, [c.name]);
  return `${out.join("\n").trimEnd()}\n`;
}
