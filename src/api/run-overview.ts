/**
 * What a run page draws first, in one answer: the run, what started it, its gate verdicts, each
 * step's state (without attempts, items or cache decisions) and the pipeline's graph. At 1,000
 * steps it is a fifth of the run's detail and saves the page a second round trip for the graph.
 */
import { describeError } from "../core/errors.js";
import { pipelineGraph } from "../engine/pipeline-views.js";
import type { StepRunRecord } from "../store/metadata-store.js";
import type { ApiServices } from "./api-context.js";

/** The fields of a step the run page's graph, list and timeline show. */
function stepState(s: StepRunRecord) {
  const { stepId, status, cached, attempts, startedAt, finishedAt, durationMs, error } = s;
  return { stepId, status, cached, attempts, startedAt, finishedAt, durationMs, error };
}

export async function runOverview(svc: ApiServices, runId: string, withGraph: boolean) {
  const states = await svc.ty.query.runStepStates(runId);
  const { run, trigger, owner, gates, guardNote } = states;
  const steps = states.steps.map(stepState);
  if (!withGraph) return { run, trigger, owner, gates, guardNote, steps };
  // A graph that cannot be loaded (its module moved) leaves the rest of the page usable.
  try {
    const graph = pipelineGraph(await svc.catalog.load(run.pipeline));
    return { run, trigger, owner, gates, guardNote, steps, graph };
  } catch (err) {
    const { code, message, hint } = describeError(err);
    return { run, trigger, owner, gates, guardNote, steps, graphError: { code, message, hint } };
  }
}
