/** Every command answers --help from its definition; `help <command>`, `--version`, did-you-mean. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { CommandDef } from "../../src/cli/command-def.js";
import { COMMANDS } from "../../src/cli/main.js";
import { REPO, useHomes } from "../engine/support.js";
import { cli } from "./support.js";

const homes = useHomes();

/** Every command and subcommand, as the words that name it. */
function commandPaths(defs: readonly CommandDef[], prefix: string[] = []): string[][] {
  return defs.flatMap((d) => [[...prefix, d.name], ...commandPaths(d.subcommands ?? [], [...prefix, d.name])]);
}

describe("trainyard help", () => {
  it("answers --help and -h on every command and subcommand with usage, options and an example", async () => {
    const home = homes.tempDir("ty-help-");
    const paths = commandPaths(COMMANDS);
    expect(paths.length).toBeGreaterThan(20);
    for (const words of paths) {
      const r = await cli([...words, "--help"], home);
      expect(r.code, words.join(" ")).toBe(0);
      expect(r.stdout, words.join(" ")).toContain(`usage: trainyard ${words.join(" ")}`);
      const def = words.reduce<CommandDef | undefined>(
        (d, w, i) => (i === 0 ? COMMANDS.find((c) => c.name === w) : d?.subcommands?.find((s) => s.name === w)),
        undefined,
      )!;
      if (def.subcommands) {
        for (const s of def.subcommands) expect(r.stdout).toContain(s.name);
        continue;
      }
      expect(r.stdout, words.join(" ")).toMatch(/\noptions:\n/);
      expect(r.stdout, words.join(" ")).toMatch(/\nexamples:\n {2}trainyard /);
      for (const name of Object.keys(def.options ?? {})) expect(r.stdout).toContain(`--${name}`);
    }
    const short = await cli(["show", "-h"], home);
    expect(short.code).toBe(0);
    expect(short.stdout).toContain("usage: trainyard show <run>");
  });

  it("prints the same text for `help <command>` as for `<command> --help`", async () => {
    const home = homes.tempDir("ty-help-");
    for (const words of [["run"], ["models", "promote"], ["triggers"]]) {
      const viaHelp = await cli(["help", ...words], home);
      const viaFlag = await cli([...words, "--help"], home);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
    }
    const top = await cli(["help"], home);
    for (const c of COMMANDS)
      expect(top.stdout).toMatch(
        new RegExp(`\\n {2}${c.name} +${c.summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\`]/g, "\\$&")}`),
      );
  });

  it("prints the package's version", async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string };
    const r = await cli(["--version"], homes.tempDir("ty-help-"));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`trainyard ${pkg.version}\n`);
  });

  it("suggests the closest command, subcommand and option for a typo", async () => {
    const home = homes.tempDir("ty-help-");
    const command = await cli(["rn"], home);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "rn" (did you mean "run"?)');
    const sub = await cli(["models", "promot"], home);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('(did you mean "promote"?)');
    const option = await cli(["plan", "p.ts", "--forse"], home);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('unknown option --forse for `trainyard plan` (did you mean "--force"?)');
    expect(option.stderr).toContain("trainyard help plan");
  });
});
