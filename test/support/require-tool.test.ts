/**
 * The rule of require-tool.ts, checked in a child vitest with real processes and a real PATH:
 * a missing tool skips its tests locally and fails them under CI, naming the tool and the fix.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { REPO } from "../engine/support.js";

const bin = mkdtempSync(join(tmpdir(), "ty-require-tool-"));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** Runs the fixture file in a child vitest; PATH is `dirs` then /usr/bin and /bin. */
function runFixture(env: Record<string, string>, dirs: string[] = []) {
  const path = [...dirs, "/usr/bin", "/bin"].join(":");
  const args = ["node_modules/vitest/vitest.mjs", "run", "--config", "test/fixtures/require-tool/vitest.config.ts"];
  const r = spawnSync(process.execPath, args, {
    cwd: REPO,
    encoding: "utf8",
    timeout: 120_000,
    env: { HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", PATH: path, TRAINYARD_TEST_HIDE_TOOLS: "", CI: "", ...env },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

it("fails, naming the tool and how to install it, when CI is set and the tool is missing", () => {
  const r = runFixture({ CI: "true", TRAINYARD_TEST_HIDE_TOOLS: "redis-server" });
  expect(r.code, r.out).toBe(1);
  expect(r.out).toContain("missing redis-server");
  expect(r.out).toContain("apt-get install redis-server");
  expect(r.out).toContain("CI is set, so this test fails instead of skipping");
  expect(r.out).toMatch(/2 failed \| 1 passed/);
});

it("skips with the reason when the tool is missing and CI is not set", () => {
  const r = runFixture({ CI: "false", TRAINYARD_TEST_HIDE_TOOLS: "redis-server" });
  expect(r.code, r.out).toBe(0);
  expect(r.out).toContain("skipping tests that need redis-server");
  expect(r.out).toMatch(/1 passed \| 2 skipped/);
});

it("runs the tests when the tool is on PATH, CI or not", () => {
  const tool = join(bin, "redis-server");
  writeFileSync(tool, "#!/bin/sh\nexit 0\n");
  chmodSync(tool, 0o755);
  for (const ci of ["true", ""]) {
    const r = runFixture({ CI: ci }, [bin]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/3 passed/);
  }
});
