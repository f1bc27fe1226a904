/** docs/cli.md is generated from the command definitions; it must be regenerated when they change. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderCliReference } from "../../src/cli/help.js";
import { COMMANDS } from "../../src/cli/main.js";
import { REPO } from "../engine/support.js";

describe("docs/cli.md", () => {
  it("matches the command definitions (run `npm run docs:cli` to update it)", () => {
    const written = readFileSync(path.join(REPO, "docs", "cli.md"), "utf8");
    expect(written).toBe(renderCliReference(COMMANDS));
  });

  it("documents every command and subcommand with its options", () => {
    const written = readFileSync(path.join(REPO, "docs", "cli.md"), "utf8");
    for (const c of COMMANDS) {
      expect(written).toContain(`## trainyard ${c.name}\n`);
      for (const s of c.subcommands ?? []) expect(written).toContain(`### trainyard ${c.name} ${s.name}\n`);
      for (const o of Object.keys(c.options ?? {})) expect(written).toContain(`--${o}`);
    }
  });
});
