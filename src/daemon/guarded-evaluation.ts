/**
 * The one boundary where a trigger's own code runs inside the daemon: its errors are wrapped with
 * the trigger they came from, and an evaluation that hangs is cut off by a timeout.
 */
import { isTrainyardError, TrainyardError } from "../core/errors.js";
import type { DaemonTrigger, TriggerContext, TriggerEvaluation } from "./daemon-trigger.js";

/** Evaluates a trigger; user code's error becomes TRIGGER_FAILED naming the trigger and its module. */
export function evaluateGuarded(
  trigger: DaemonTrigger,
  ctx: TriggerContext,
  timeoutMs: number,
): Promise<TriggerEvaluation> {
  // Only an evaluation still pending needs a timer (most cheap sensors settle at once).
  return withTimeout(evaluateSafely(trigger, ctx), timeoutMs, trigger.id);
}

async function evaluateSafely(trigger: DaemonTrigger, ctx: TriggerContext): Promise<TriggerEvaluation> {
  try {
    return await trigger.evaluate(ctx);
  } catch (err) {
    if (isTrainyardError(err)) throw err;
    throw new TrainyardError(
      "TRIGGER_FAILED",
      `trigger ${trigger.id} threw: ${(err as Error)?.message ?? String(err)}`,
      {
        cause: err,
        trigger: trigger.id,
        file: trigger.modulePath,
        hint: "fix the trigger's code; the daemon retries it with backoff (see `trainyard triggers history`)",
      },
    );
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, id: string): Promise<T> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return Promise.resolve().then(() => (settled ? p : raceTimeout(p, ms, id)));
}

function raceTimeout<T>(p: Promise<T>, ms: number, id: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TrainyardError("TRIGGER_FAILED", `trigger ${id} took longer than ${ms} ms to evaluate`, {
          trigger: id,
          hint: "make its evaluation cheaper, or give it a longer timeout",
        }),
      );
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
