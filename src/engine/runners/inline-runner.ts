/** Runs a step function in this process. A timeout aborts `ctx.signal` and fails the attempt. */
import type { RunningStepContext } from "../step-context.js";
import type { StepDef } from "../../core/step.js";

export async function runInline(def: StepDef, ctx: RunningStepContext, args: unknown[]): Promise<unknown> {
  return await def.run!(ctx, ...args);
}
