/**
 * The gates step: applies the declared gates to an evaluation's evidence. All pass (or have no
 * baseline) -> the verdicts are the output and the run goes on to register and deploy. Any fail
 * -> `Rejected`: the verdicts are still stored, side effects downstream are skipped, and the run
 * ends "rejected" with the failed gates and their margins in its error.
 */
import { Rejected, type Pipeline, type StepRef } from "../../index.js";
import { evaluateGates, failedGates, type GateEvidence } from "./evaluate-gates.js";
import type { GateSpec, GateVerdict } from "./gate-spec.js";
import { callWithParams, paramsReadBy } from "../params/param-functions.js";

export interface GatesResult {
  passed: boolean;
  verdicts: GateVerdict[];
}

export interface GatesStepOptions {
  evaluation: StepRef<{ evaluation: GateEvidence }>;
  /** The gates, or a function of the pipeline params (e.g. a floor set per profile). */
  gates: GateSpec[] | ((params: Record<string, any>) => GateSpec[]);
  /** Pipeline params the gates read; they enter the step's cache key. @default those `gates` reads on the defaults */
  params?: string[];
  description?: string;
}

export function gates(p: Pipeline<any>, id: string, opts: GatesStepOptions): StepRef<GatesResult> {
  const specsOf = opts.gates;
  const read = paramsReadBy(p, id, specsOf, opts.params);
  return p.step(id, {
    description: opts.description ?? "decide whether the candidate may be registered and deployed",
    guard: true,
    inputs: { evaluation: opts.evaluation },
    params: read as never[],
    version: "gates-step/1",
    config: { gates: typeof opts.gates === "function" ? opts.gates.toString() : opts.gates },
    run: (ctx, { evaluation }) => {
      const specs = typeof specsOf === "function" ? callWithParams(p, id, specsOf, ctx.params, read) : specsOf;
      const verdicts = evaluateGates(specs, evaluation.evaluation);
      for (const v of verdicts) ctx.log(`${v.status.padEnd(11)} ${v.gate}: ${v.message}`);
      const failed = failedGates(verdicts);
      const result = { passed: failed.length === 0, verdicts };
      if (failed.length) {
        const reasons = failed.map((f) => `${f.gate} (${f.message})`).join("; ");
        throw new Rejected(`${failed.length} of ${verdicts.length} gates failed: ${reasons}`, { output: result });
      }
      return result;
    },
  });
}
