import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../engine/support.js";
import { cli, summaryOf } from "./support.js";

/** `trainyard logs` over a step whose output passed its log cap (TRAINYARD_LOG_STEP_MAX). */
describe("trainyard logs", () => {
  const home = tempDir("ty-cli-logs-");
  const dir = tempDir("ty-cli-logs-mod-");
  const module = path.join(dir, "pipeline.ts");
  let runId = "";

  beforeAll(async () => {
    fs.writeFileSync(
      module,
      `import { pipeline } from "trainyard";\nconst p = pipeline("cli-logs");\np.command("loud", { run: ` +
        `"seq 1 300000" });\nexport default p;\n`,
    );
    process.env.TRAINYARD_LOG_STEP_MAX = "1MiB";
    const run = await cli(["run", module, "--json"], home);
    delete process.env.TRAINYARD_LOG_STEP_MAX;
    expect(summaryOf(run).status).toBe("succeeded");
    runId = summaryOf(run).runId;
  });
  afterAll(() => {
    for (const d of [home, dir]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("prints the log file: the head, a note where output was cut, and the last part", async () => {
    const r = await cli(["logs", runId, "loud"], home);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("#1 out 1");
    expect(lines.at(-1)).toBe("#1 out 300000");
    const cut = lines.findIndex((l) => l.startsWith("#1 log [trainyard] output cut here:"));
    expect(cut).toBeGreaterThan(1000);
    expect(lines[cut]).toContain("the step's log cap is 1.0 MiB");
    expect(lines.length).toBeLessThan(300000);
    expect(lines.slice(0, cut)).toEqual(lines.slice(0, cut).map((_, i) => `#1 out ${i + 1}`));

    const json = JSON.parse((await cli(["logs", runId, "loud", "--json"], home)).stdout) as Array<{
      line: string;
      attempt: number;
      stream: string;
    }>;
    expect(json).toHaveLength(lines.length);
    expect(json[0]).toMatchObject({ attempt: 1, stream: "stdout", line: "1" });
    expect(json.at(-1)).toMatchObject({ line: "300000" });

    const none = await cli(["logs", runId, "loud", "--attempt", "2"], home);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("no log lines");
  });

  it("prints the database's head and tail when the log file is gone", async () => {
    fs.rmSync(path.join(home, "logs"), { recursive: true, force: true });
    const r = await cli(["logs", runId, "loud"], home);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(401);
    expect(lines.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => `#1 out ${i + 1}`));
    const note =
      /^#1 log \[trainyard\] 299,600 lines are not kept in the database; the log file .*loud\.1\.log\.gz on /;
    expect(lines[200]).toMatch(note);
    // The file lives where the step ran: the note names that machine.
    expect(lines[200]).toContain(` on ${os.hostname()} has them`);
    expect(lines.slice(201)).toEqual(Array.from({ length: 200 }, (_, i) => `#1 out ${299801 + i}`));
  });
});
