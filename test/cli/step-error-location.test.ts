/** A step that throws is located in the user's own file and line: in the run's output, `logs` and `show`. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useHomes } from "../engine/support.js";
import { CLI_FIXTURE, cli, startCli, summaryOf } from "./support.js";

const homes = useHomes();

/** "file:line:" of the first line of `file` that contains `text`, 1-based as stack traces count. */
function lineOf(file: string, text: string): string {
  const index = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(text));
  expect(index).toBeGreaterThanOrEqual(0);
  return `${file}:${index + 1}:`;
}

describe("where a step threw", () => {
  it("is printed by run, logs and show, and TRAINYARD_DEBUG adds the whole stack", async () => {
    const home = homes.tempDir("ty-where-");
    const where = lineOf(CLI_FIXTURE, "check failed on purpose");
    const run = await cli(["run", CLI_FIXTURE, "--param", "fail=true"], home);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`  at ${where}`);
    expect(run.stdout).not.toContain("at runInline");
    const runId = /run (\S+) failed/.exec(run.stdout)![1];

    const logs = await cli(["logs", runId, "check"], home);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("error: Error: check failed on purpose (total 2)");
    expect(logs.stdout).toContain(where);
    expect(logs.stderr).not.toContain("no log lines");

    const show = await cli(["show", runId], home);
    expect(show.stdout).toContain(`  at ${where}`);
    const json = JSON.parse((await cli(["show", runId, "--json"], home)).stdout) as {
      run: { error: { fields: { at: string } } };
    };
    expect(json.run.error.fields.at).toContain(where);

    const debug = await startCli(["run", CLI_FIXTURE, "--param", "fail=true", "--param", "n=3"], home, {
      env: { TRAINYARD_DEBUG: "1" },
    }).done;
    expect(debug.stdout).toContain(`  at ${where}`);
    expect(debug.stdout).toMatch(/\n {4}at runInline \(/);
  });

  it("names the line inside an isolated step, from its child process", async () => {
    const home = homes.tempDir("ty-where-");
    const dir = homes.tempDir("ty-where-module-");
    const module = join(dir, "isolated.ts");
    writeFileSync(
      module,
      `import { pipeline } from "trainyard";
const p = pipeline("isolated-throw");

function parseRow(text: string): number {
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(\`not a number: \${text}\`);
  return n;
}

p.step("parse", { isolate: true, run: () => parseRow("fifty") });
export default p;
`,
    );
    const where = lineOf(module, "throw new Error");
    const run = await cli(["run", module, "--json"], home);
    expect(run.code).toBe(1);
    const summary = summaryOf(run);
    const text = await cli(["show", summary.runId], home);
    expect(text.stdout).toContain(`  at ${where}`);
    const logs = await cli(["logs", summary.runId, "parse"], home);
    expect(logs.stdout).toContain("not a number: fifty");
    expect(logs.stdout).toContain(where);
  });
});
