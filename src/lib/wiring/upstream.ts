/**
 * Reading the wiring a pipeline already declares, so that a step can default an option to what
 * the step it consumes was given (register the model the gates judged, refit the searched model
 * on the search's features) instead of the user wiring the same reference twice.
 */
import type { Pipeline, StepRef } from "../../index.js";

/** The reference wired into input `name` of the step `ref` points at, if that step has one. */
export function upstreamInput<O = unknown>(
  p: Pipeline<any>,
  ref: StepRef<unknown>,
  name: string,
): StepRef<O> | undefined {
  const input = p.steps.get(ref.stepId)?.inputs[name];
  return input as StepRef<O> | undefined;
}

/** The `config` the library recorded on the step `ref` points at (its options), if any. */
export function upstreamConfig<C>(p: Pipeline<any>, ref: StepRef<unknown>): Partial<C> {
  return (p.steps.get(ref.stepId)?.options.config ?? {}) as Partial<C>;
}
