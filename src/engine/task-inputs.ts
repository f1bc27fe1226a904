/**
 * A StepTask's input values, read back from the stores by digest: what lets any process that
 * holds the run's stores run the task. In the orchestrating process the values are already in
 * ArtifactIO's memory, so this costs no read.
 */
import type { StepDef } from "../core/step.js";
import { pickValue, type ArtifactIO } from "./artifact-io.js";
import type { StepInputRef, StepTask } from "./step-task.js";

export interface TaskInputs {
  /** Input values by name (picked fields applied). */
  inputs: Record<string, unknown>;
  /** The step function's arguments: [inputs], or [item, inputs] for a map item. */
  args: unknown[];
}

/**
 * Loads the task's inputs (and its map item). `verify`: check every artifact inside them against
 * its digest first, as a process that did not resolve them itself must.
 */
export async function loadTaskInputs(
  task: StepTask,
  def: StepDef,
  io: ArtifactIO,
  opts: { verify?: boolean } = {},
): Promise<TaskInputs> {
  const inputs: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(task.inputs)) inputs[name] = await loadRef(io, ref, name);
  const where = { step: task.stepId, runId: task.runId };
  if (opts.verify) await io.verifyValue(inputs, { use: `an input of step "${task.stepId}"`, ...where });
  if (def.kind === "command") return { inputs, args: [] };
  if (task.itemIndex < 0 || !task.over) return { inputs, args: [inputs] };
  const list = await loadRef(io, task.over, "over");
  const item = Array.isArray(list) ? list[task.itemIndex] : undefined;
  if (opts.verify) await io.verifyValue(item, { use: `item ${task.itemIndex} of map step "${task.stepId}"`, ...where });
  return { inputs, args: [item, inputs] };
}

async function loadRef(io: ArtifactIO, ref: StepInputRef, name: string): Promise<unknown> {
  // Bytes the task carries are used only once they match the digest (ArtifactIO.load checks).
  const value = await io.load(ref.digest, ref.inline === undefined ? undefined : Buffer.from(ref.inline, "base64"));
  return ref.path.length ? pickValue(value, ref.path, ref.stepId, name) : value;
}
