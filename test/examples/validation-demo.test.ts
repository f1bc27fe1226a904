/** The corrupted-batch example stops at validation with a readable report, before training. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const home = mkdtempSync(join(tmpdir(), "ty-validation-demo-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("validation demo", () => {
  it("a retyped column, a burst of nulls and shifted delays stop the run at validation", () => {
    const land = spawnSync("bash", ["examples/validation-demo/land.sh"], { encoding: "utf8" });
    expect(land.status, land.stderr).toBe(0);
    const r = spawnSync(process.execPath, ["bin/trainyard.js", "run", "examples/validation-demo/pipeline.ts"], {
      encoding: "utf8",
      env: { ...process.env, TRAINYARD_HOME: home },
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/distance\s+type\s+expected integer\s+found VARCHAR/);
    expect(r.stdout).toMatch(/delay\s+maxNullFraction\s+expected <= 0\.02\s+found 0\.3/);
    const report = /open the report: (\S+);/.exec(r.stdout)?.[1];
    expect(report && existsSync(report)).toBe(true);
    expect(readFileSync(report!, "utf8")).toContain("maxNullFraction");
    const shown = spawnSync(process.execPath, ["bin/trainyard.js", "runs", "--json"], {
      encoding: "utf8",
      env: { ...process.env, TRAINYARD_HOME: home },
    });
    const [run] = JSON.parse(shown.stdout);
    expect(run.status).toBe("failed");
    const steps = JSON.parse(
      spawnSync(process.execPath, ["bin/trainyard.js", "show", run.id, "--json"], {
        encoding: "utf8",
        env: { ...process.env, TRAINYARD_HOME: home },
      }).stdout,
    ).steps;
    expect(steps.find((s: { stepId: string }) => s.stepId === "train").status).toBe("skipped");
  });
});
