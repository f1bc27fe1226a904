// Child processes (isolated steps, the CLI) run the built dist/; build it once per test run.
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
}
