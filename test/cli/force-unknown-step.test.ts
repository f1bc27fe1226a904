/** `--force <step>` with a step the pipeline does not have is an error that lists the steps. */
import { describe, expect, it } from "vitest";
import { useHomes } from "../engine/support.js";
import { CLI_FIXTURE, cli } from "./support.js";

const homes = useHomes();

describe("--force with an unknown step", () => {
  it("fails run and plan, suggests the closest step and lists them all", async () => {
    const home = homes.tempDir("ty-force-");
    for (const command of ["run", "plan"]) {
      const r = await cli([command, CLI_FIXTURE, "--force", "chek"], home);
      expect(r.code, command).toBe(1);
      expect(r.stderr).toContain("error[STEP_UNKNOWN]");
      expect(r.stderr).toContain('--force names no step of pipeline "cli-demo": "chek" (did you mean "check"?)');
      expect(r.stderr).toContain("hint: its steps are count, label, report, check");
    }
    // Nothing ran: the typo did not turn into a run that reused the cache.
    const runs = await cli(["runs", "--json"], home);
    expect((JSON.parse(runs.stdout) as Array<{ status: string }>).every((r) => r.status === "failed")).toBe(true);
    const known = await cli(["run", CLI_FIXTURE, "--force", "check", "--json"], home);
    expect(known.code).toBe(0);
  });
});
