/**
 * scripts/ensure-system-deps.sh against a PATH we control: apt-get is a stub that fails (nothing
 * is installed for real), and tools are present or absent by what the PATH holds.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { REPO } from "../engine/support.js";
import { requireTools } from "./require-tool.js";

const root = mkdtempSync(join(tmpdir(), "ty-deps-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A bin directory with bash, id and ls, a failing apt-get, and stubs for `present`. */
function binDir(name: string, present: string[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const tool of ["bash", "id", "ls"]) {
    const where = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(where, join(dir, tool));
  }
  const stub = (tool: string, body: string) => {
    writeFileSync(join(dir, tool), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, tool), 0o755);
  };
  stub("apt-get", 'echo "E: apt-get stub: nothing can be installed" >&2; exit 100');
  for (const tool of present) stub(tool, "exit 0");
  return dir;
}

function ensure(dir: string, ci: string) {
  const r = spawnSync(join(dir, "bash"), [join(REPO, "scripts", "ensure-system-deps.sh")], {
    encoding: "utf8",
    env: { PATH: dir, CI: ci, HOME: root },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

it("exits non-zero under CI when it cannot install what is missing, naming it", () => {
  const r = ensure(binDir("none", []), "true");
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/ensure-system-deps: .*chromium redis-server/);
  expect(r.err).toContain("CI is set");
});

it("exits zero outside CI, saying which tests will be skipped", () => {
  const r = ensure(binDir("none-local", []), "");
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/missing .*chromium redis-server.*will be skipped/);
});

// The Python modules and chrt are checked at their absolute paths: this one needs them installed.
const installed = requireTools("scipy", "scikit-learn", "xgboost", "pandas", "chrt");
installed.it("is silent and succeeds when everything is present", () => {
  const r = ensure(binDir("all", ["make", "initdb", "chromium", "redis-server"]), "true");
  expect(r).toEqual({ code: 0, out: "", err: "" });
});
