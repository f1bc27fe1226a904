import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir, waitFor } from "../engine/support.js";
import { cli, SLOW_FIXTURE, startCli, summaryOf, type CliResult } from "./support.js";

/** Modules whose top-level code never finishes: awaiting nothing, awaiting a timer, looping without yielding. */
const dir = tempDir("ty-module-load-");
const MODULES = {
  awaiting: "await new Promise(() => {});",
  sleeping: "await new Promise((resolve) => setTimeout(resolve, 1e9));",
  looping: "while (true) {}",
};

function moduleOf(kind: keyof typeof MODULES): { file: string; marker: string } {
  const marker = path.join(dir, `${kind}-${Math.random().toString(36).slice(2)}.loading`);
  const file = path.join(dir, `${kind}-${path.basename(marker, ".loading")}.ts`);
  fs.writeFileSync(
    file,
    `import { writeFileSync } from "node:fs";\nimport { pipeline } from "trainyard";\n` +
      `writeFileSync(${JSON.stringify(marker)}, String(process.pid));\n${MODULES[kind]}\n` +
      `const p = pipeline("never");\np.step("a", { run: () => 1 });\nexport default p;\n`,
  );
  return { file, marker };
}

/** Runs the CLI with extra environment variables (the child inherits process.env when it starts). */
function withEnv<T>(env: Record<string, string>, start: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return start();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

/** Resolves with the process's end, or rejects if it is still running after `ms`. */
function endsWithin(done: Promise<CliResult>, ms: number, what: string): Promise<CliResult> {
  return Promise.race([
    done,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms)),
  ]);
}

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("a pipeline module that never finishes loading", () => {
  for (const kind of Object.keys(MODULES) as Array<keyof typeof MODULES>) {
    it(`${kind}: SIGTERM ends \`trainyard run\` while it loads`, async () => {
      const home = tempDir("ty-home-");
      const { file, marker } = moduleOf(kind);
      const { child, done } = withEnv({ TRAINYARD_LOAD_TIMEOUT: "600" }, () =>
        startCli(["run", file, "--no-typecheck"], home),
      );
      try {
        await waitFor(() => fs.existsSync(marker), "the module to start loading");
        // Still loading (it waits for the load timeout), not gone on its own.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(child.exitCode).toBeNull();
        child.kill("SIGTERM");
        const r = await endsWithin(done, 5000, `trainyard run (${kind} module) after SIGTERM`);
        expect(r.signal).toBe("SIGTERM");
      } finally {
        child.kill("SIGKILL");
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  }

  it("awaiting: the load timeout fails the run with MODULE_LOAD naming the module and what to do", async () => {
    const home = tempDir("ty-home-");
    const { file } = moduleOf("awaiting");
    const r = await endsWithin(
      withEnv({ TRAINYARD_LOAD_TIMEOUT: "1" }, () => cli(["run", file, "--no-typecheck"], home)),
      30_000,
      "trainyard run",
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error[MODULE_LOAD]: pipeline module ${file} did not finish loading within 1 s: ` +
        `its top-level code is still awaiting`,
    );
    expect(r.stderr).toMatch(/hint: a pipeline module should only define steps: .*TRAINYARD_LOAD_TIMEOUT/);
    const runs = JSON.parse((await cli(["runs", "--json"], home)).stdout) as Array<{
      status: string;
      error?: { code: string };
    }>;
    expect(runs).toMatchObject([{ status: "failed", error: { code: "MODULE_LOAD" } }]);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("looping: the load timeout ends the process from a watchdog thread, with the same message", async () => {
    const home = tempDir("ty-home-");
    const { file } = moduleOf("looping");
    const r = await endsWithin(
      withEnv({ TRAINYARD_LOAD_TIMEOUT: "1" }, () => cli(["run", file, "--no-typecheck"], home)),
      30_000,
      "trainyard run",
    );
    expect(r.signal).toBe("SIGKILL");
    expect(r.stderr).toContain(
      `error[MODULE_LOAD]: pipeline module ${file} did not finish loading within 1 s: ` +
        `its top-level code is still running`,
    );
    expect(r.stderr).toContain("hint: a pipeline module should only define steps");
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("rejects a TRAINYARD_LOAD_TIMEOUT that is not a duration", async () => {
    const home = tempDir("ty-home-");
    const { file } = moduleOf("awaiting");
    const r = await withEnv({ TRAINYARD_LOAD_TIMEOUT: "soon" }, () => cli(["run", file, "--no-typecheck"], home));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[CONFIG_INVALID]: TRAINYARD_LOAD_TIMEOUT="soon" is not a duration');
    fs.rmSync(home, { recursive: true, force: true });
  });
});

describe("signals once the run has started", () => {
  it("SIGTERM cancels the run: recorded cancelled, exit 130", async () => {
    const home = tempDir("ty-home-");
    const work = tempDir("ty-slow-");
    try {
      const { child, done } = startCli(
        ["run", SLOW_FIXTURE, "--param", `dir=${work}`, "--json", "--no-typecheck"],
        home,
      );
      await waitFor(() => fs.existsSync(path.join(work, "started")), "the slow step to start");
      child.kill("SIGTERM");
      const r = await endsWithin(done, 10_000, "trainyard run after SIGTERM");
      expect(r.code).toBe(130);
      expect(r.stderr).toContain("cancelling the run (SIGTERM again to exit at once)");
      expect(summaryOf(r)).toMatchObject({ status: "cancelled" });
      const runs = JSON.parse((await cli(["runs", "--json"], home)).stdout) as Array<{ status: string }>;
      expect(runs).toMatchObject([{ status: "cancelled" }]);
    } finally {
      for (const d of [home, work]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
