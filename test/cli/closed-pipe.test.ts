/** Output piped into a reader that already stopped (`| head`) ends quietly, with the command's own exit code. */
import { spawn, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { REPO, useHomes } from "../engine/support.js";
import { BIN, CLI_FIXTURE, cli, summaryOf } from "./support.js";

const homes = useHomes();

/** Runs the CLI with its stdout's read end closed before it writes a byte. */
function intoClosedPipe(args: string[], home: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1", TRAINYARD_DEBUG: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.destroy();
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

describe("output into a closed pipe", () => {
  it("ends plan, why, runs, show and logs quietly", async () => {
    const home = homes.tempDir("ty-pipe-");
    const run = summaryOf(await cli(["run", CLI_FIXTURE, "--json"], home));
    const commands = [
      ["plan", CLI_FIXTURE],
      ["why", run.runId, "count"],
      ["runs"],
      ["show", run.runId],
      ["logs", run.runId, "count"],
      ["help"],
    ];
    for (const args of commands) {
      const r = await intoClosedPipe(args, home);
      expect(r.stderr, args[0]).not.toMatch(/EPIPE|Error|at /);
      expect(r.code, args[0]).toBe(0);
    }
  });

  it("keeps a failed command's exit code when its reader is gone", async () => {
    const home = homes.tempDir("ty-pipe-");
    const r = await intoClosedPipe(["run", CLI_FIXTURE, "--param", "fail=true"], home);
    expect(r.stderr).not.toMatch(/EPIPE|at /);
    expect(r.code).toBe(1);
  });

  it("stops at `| head -1` in a shell", async () => {
    const home = homes.tempDir("ty-pipe-");
    await cli(["run", CLI_FIXTURE], home);
    const script = `node "${BIN}" plan "${CLI_FIXTURE}" | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`;
    const r = spawnSync("bash", ["-c", script], {
      cwd: REPO,
      env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1" },
    });
    expect(r.stdout.toString()).toMatch(/^cli-demo: [^\n]*\n$/);
    expect(r.stderr.toString()).toBe("exit=0\n");
  });
});
