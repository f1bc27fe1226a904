// The V8 flags a `trainyard` command runs with, in one place: bin/trainyard.js sets them in its own
// process, and bench/queue.ts puts them on the command line of the processes it measures, so a
// benchmark runs the product as shipped. docs/performance.md holds the measurements behind them.
//
// The orchestrator's own code runs for microseconds per step, and by default V8 hands a function to
// its optimizing compiler after little use: in a run of 1,000 short steps that compile work took a
// fifth of the run's CPU and never paid off. A larger interrupt budget makes V8 wait eight times
// longer before tiering a function up (really hot code is still optimized within milliseconds). The
// young generation grows eight times faster (same maximum): a run's records live until committed.
// V8 12 (Node 22) and later count invocations instead and reject --interrupt-budget (printing an
// error on every command): there only the young generation's growth is set.
const interruptBudget = Number(process.versions.v8.split(".")[0]) < 12 ? ["--interrupt-budget=1048576"] : [];

/** The flags every command but `serve` runs with on this Node. */
export const defaultV8Flags = [...interruptBudget, "--semi-space-growth-factor=8"];

/**
 * The flags for `trainyard <command>`, as one string for v8.setFlagsFromString or "" for V8's
 * defaults. The model server, which runs for hours, keeps the defaults; TRAINYARD_V8_FLAGS replaces
 * the choice (empty: V8's defaults).
 */
export function v8FlagsFor(command, env = process.env) {
  return env.TRAINYARD_V8_FLAGS ?? (command === "serve" ? "" : defaultV8Flags.join(" "));
}
