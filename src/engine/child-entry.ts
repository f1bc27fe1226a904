/** Entry point of an isolated step's child process: load the module, run one step, report. */
import { pathToFileURL } from "node:url";
import { describeError } from "../core/errors.js";
import { isPipeline } from "../core/pipeline.js";
import type { ChildMessage, IsolatedTask } from "./runners/isolated-runner.js";
import { Cancellation } from "./cancellation.js";
import { RunningStepContext } from "./step-context.js";

process.once("message", async (task: IsolatedTask) => {
  const send = (m: ChildMessage) => new Promise<void>((r) => process.send!(m, () => r()));
  try {
    const mod = (await import(pathToFileURL(task.bundlePath).href)) as { default?: unknown };
    const p = mod.default;
    if (!isPipeline(p)) throw new Error(`${task.bundlePath} does not default-export a pipeline`);
    const def = p.steps.get(task.stepId);
    if (!def?.run) throw new Error(`pipeline "${p.name}" has no step "${task.stepId}" with a function`);
    const ctx = new RunningStepContext({
      params: task.params,
      runId: task.runId,
      stepId: task.stepId,
      attempt: task.attempt,
      itemIndex: task.itemIndex,
      cancel: new Cancellation(),
      workRoot: task.workRoot,
      home: task.home,
      onLog: (line) => void send({ type: "log", line }),
    });
    const value = await def.run(ctx, ...task.args);
    await send({ type: "done", value, workdir: ctx.workdirIfCreated });
  } catch (err) {
    await send({ type: "error", error: describeError(err) });
  }
  process.disconnect();
});
