/**
 * Runs a benchmark's processes with the V8 flags `trainyard` sets for itself (bin/v8-flags.js), so
 * the figures are those of the product as shipped rather than of V8's defaults.
 */
import { spawn } from "node:child_process";
import { v8FlagsFor } from "../../bin/v8-flags.js";

/** The node command-line flags of `trainyard run` and `trainyard worker` on this Node. */
export function shippedNodeFlags(): string[] {
  return v8FlagsFor("run").split(/\s+/).filter(Boolean);
}

/**
 * Re-runs this script once, in a child node with the shipped flags, when this process lacks them;
 * resolves only if this process already has them (the child's exit code ends the parent).
 */
export async function runWithShippedFlags(): Promise<void> {
  const flags = shippedNodeFlags();
  if (flags.every((f) => process.execArgv.includes(f))) return;
  const child = spawn(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
  });
  // The terminal's Ctrl-C reaches the child too (same process group); a SIGTERM sent to this process
  // alone is passed on, as if the benchmark were one process.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  const code = await new Promise<number>((done) => child.on("exit", (c, signal) => done(c ?? (signal ? 1 : 0))));
  process.exit(code);
}
