/**
 * Named crash points for fault-injection tests: with `TRAINYARD_CRASH_AT=<name>` (or
 * `<name>:<n>` for its n-th pass, 1-based), the process kills itself with SIGKILL the moment it
 * reaches that point, exactly as `kill -9` would. Unset, a crash point costs one comparison.
 */
const spec = process.env.TRAINYARD_CRASH_AT;
const [target, nth] = spec ? spec.split(":") : [];
let passes = 0;

/** The points the run loop, the stores and the daemon name (see test/faults). */
export type CrashPointName =
  | "after-object-rename"
  | "before-record-commit"
  | "after-record-commit"
  | "mid-resume"
  | "tick-created"
  | "runs-created"
  | "run-launched"
  | "cursor-stored"
  | "tick-done";

export function crashPoint(name: CrashPointName): void {
  if (target !== name) return;
  if (nth !== undefined && ++passes !== Number(nth)) return;
  process.kill(process.pid, "SIGKILL");
}
