/**
 * Helpers for testing pipelines like code: run one step with given inputs, or a whole pipeline,
 * in a throwaway home that is removed afterwards.
 *
 *   const out = await runStep(pipeline, "features", { inputs: { raw: datasetFile("x.parquet") } });
 *   const { result, output } = await runPipeline("pipeline.ts", { params: { rows: 100 } });
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Dataset, FileArtifact, ModelArtifact } from "../core/artifacts.js";
import { TrainyardError } from "../core/errors.js";
import { pickParams, resolveParams } from "../core/params.js";
import type { Pipeline } from "../core/pipeline.js";
import { dispatchStep } from "../engine/runners/step-runner.js";
import { RunningStepContext } from "../engine/step-context.js";
import { Cancellation } from "../engine/cancellation.js";
import { Trainyard, type RunRequest, type RunResult } from "../engine/trainyard.js";

export interface StepTestOptions {
  /** Input values by input name, as the step would receive them. */
  inputs?: Record<string, unknown>;
  /** Param values; defaults from the pipeline's schema fill the rest. */
  params?: Record<string, unknown>;
  /** For a map step: the item to run. */
  item?: unknown;
  /** Keep the temporary home for inspection. @default false */
  keepHome?: boolean;
}

/** Runs one step of a pipeline in this process and returns its stored output. */
export async function runStep(target: Pipeline<any>, stepId: string, opts: StepTestOptions = {}): Promise<any> {
  const def = target.steps.get(stepId);
  if (!def)
    throw new TrainyardError("NOT_FOUND", `pipeline "${target.name}" has no step "${stepId}"`, {
      step: stepId,
      hint: `steps: ${[...target.steps.keys()].join(", ")}`,
    });
  const home = mkdtempSync(join(tmpdir(), "trainyard-step-"));
  const ty = await Trainyard.open({ home });
  try {
    const all = resolveParams(
      target.name,
      target.paramsSchema,
      target.profiles as Record<string, Record<string, unknown>>,
      { values: opts.params },
    );
    const logs: string[] = [];
    const ctx = new RunningStepContext({
      params: pickParams(all, def.params),
      runId: "test",
      stepId,
      attempt: 1,
      cancel: new Cancellation(),
      workRoot: ty.workRoot,
      home,
      onLog: (l) => logs.push(l.line),
      // Registry steps and users' steps reach the throwaway home's stores, as in a real run.
      services: async () => ty,
    });
    const inputs = opts.inputs ?? {};
    const moduleDir = target.modulePath ? dirname(target.modulePath) : process.cwd();
    const args = def.kind === "map" ? [opts.item, inputs] : [inputs];
    const onLog = (l: { line: string }) => logs.push(l.line);
    // The run's own dispatch; an isolated step runs in this process, where the test can debug it.
    const { value } = await dispatchStep(def, ctx, { args, inputs, moduleDir, onLog }, { inThisProcess: true });
    const out = await ty.io.finalize(value, stepId, ctx.workdirIfCreated);
    return out.value;
  } finally {
    await ty.close();
    if (!opts.keepHome) rmSync(home, { recursive: true, force: true });
  }
}

export interface PipelineTestResult {
  result: RunResult;
  /** The stored output of a step in this run. */
  output(stepId: string): Promise<any>;
  trainyard: Trainyard;
  home: string;
  /** Closes the stores and removes the temporary home. */
  cleanup(): Promise<void>;
}

/** Runs a whole pipeline (module path or object) in a temporary home. Call cleanup() afterwards. */
export async function runPipeline(
  target: string | Pipeline<any>,
  req: RunRequest & { home?: string } = {},
): Promise<PipelineTestResult> {
  const home = req.home ?? mkdtempSync(join(tmpdir(), "trainyard-run-"));
  const ty = await Trainyard.open({ home });
  const result = await ty.run(typeof target === "string" ? resolve(target) : target, { concurrency: 2, ...req });
  return {
    result,
    output: (stepId) => ty.output(result.runId, stepId),
    trainyard: ty,
    home,
    cleanup: async () => {
      await ty.close();
      if (!req.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** An input handle for a file that already exists (for runStep inputs). */
export function fileInput(path: string, meta: Record<string, unknown> = {}): FileArtifact {
  return { $artifact: "file", digest: "test", path: resolve(path), size: statSync(path).size, meta };
}

export function datasetInput(path: string, meta: Partial<Dataset["meta"]> = {}): Dataset {
  return {
    $artifact: "dataset",
    digest: "test",
    path: resolve(path),
    size: statSync(path).size,
    meta: { format: "parquet", ...meta } as Dataset["meta"],
  };
}

export function modelInput(path: string, meta: ModelArtifact["meta"] = {}): ModelArtifact {
  return { $artifact: "model", digest: "test", path: resolve(path), size: statSync(path).size, meta };
}
