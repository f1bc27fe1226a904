/** Entry point of an isolated step's child process: load the module, run one step, report. */
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { describeError, TrainyardError } from "../core/errors.js";
import { isPipeline } from "../core/pipeline.js";
import type { ChildMessage, IsolatedTask } from "./runners/isolated-runner.js";
import { dispatchStep } from "./runners/step-runner.js";
import { Cancellation } from "./cancellation.js";
import { RunningStepContext } from "./step-context.js";
import type { TrainyardServices } from "./step-services.js";
import type { LogLine } from "../store/metadata-store.js";
import type { StoreSpec } from "./store-choice.js";

/** The parent's stores, opened here on a step's first `ctx.services()` (most steps never ask). */
function lazyServices(stores: StoreSpec | undefined, stepId: string) {
  let opened: Promise<TrainyardServices & { close(): Promise<void> }> | undefined;
  const services = () => {
    if (!stores) {
      const hint = "open the Trainyard with stores chosen by name (options or trainyard.config.ts), not as instances";
      const message = `isolated step "${stepId}" cannot reach the run's stores`;
      return Promise.reject(new TrainyardError("NOT_FOUND", message, { step: stepId, hint }));
    }
    opened ??= import("./trainyard.js").then(({ Trainyard }) =>
      Trainyard.open({ home: stores.home, metadata: stores.metadata, artifacts: stores.artifacts }),
    );
    return opened;
  };
  return { services, close: async () => (await opened?.catch(() => undefined))?.close() };
}

process.once("message", async (task: IsolatedTask) => {
  const send = (m: ChildMessage) => new Promise<void>((r) => process.send!(m, () => r()));
  try {
    const mod = (await import(pathToFileURL(task.bundlePath).href)) as { default?: unknown };
    const p = mod.default;
    if (!isPipeline(p)) throw new Error(`${task.bundlePath} does not default-export a pipeline`);
    const def = p.steps.get(task.stepId);
    if (!def) throw new Error(`pipeline "${p.name}" has no step "${task.stepId}"`);
    const services = lazyServices(task.stores, task.stepId);
    const onLog = (line: LogLine) => void send({ type: "log", line });
    const ctx = new RunningStepContext({
      params: task.params,
      runId: task.runId,
      stepId: task.stepId,
      attempt: task.attempt,
      itemIndex: task.itemIndex,
      cancel: new Cancellation(),
      workRoot: task.workRoot,
      home: task.home,
      onLog,
      onMetric: (metric) => void send({ type: "metric", metric }),
      onTag: (key, value) => void send({ type: "tag", key, value }),
      onWarning: (message) => void send({ type: "warning", message }),
      services: services.services,
    });
    let value: unknown;
    try {
      // This process is the isolated step's own: its work runs here, through the same dispatch.
      const call = { args: task.args, inputs: inputsOf(task.args), moduleDir: dirname(task.bundlePath), onLog };
      value = (await dispatchStep(def, ctx, call, { inThisProcess: true })).value;
    } finally {
      await services.close();
    }
    await send({ type: "done", value, workdir: ctx.workdirIfCreated });
  } catch (err) {
    await send({ type: "error", error: describeError(err) });
  }
  process.disconnect();
});

/** The inputs among a step function's arguments: [inputs], or [item, inputs] for a map item. */
function inputsOf(args: unknown[]): Record<string, unknown> {
  return (args.length > 1 ? args[1] : args[0]) as Record<string, unknown>;
}
