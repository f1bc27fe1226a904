// Child processes (isolated steps, the CLI) run the built dist/; build it once per test run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A folder for this test run only: the packed tarball and the projects installed from it. */
    runDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
  const runDir = mkdtempSync(join(tmpdir(), "trainyard-test-run-"));
  project.provide("runDir", runDir);
  return () => rmSync(runDir, { recursive: true, force: true });
}
