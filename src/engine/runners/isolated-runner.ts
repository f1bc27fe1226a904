/**
 * Runs a step in a child process that loads the pipeline module by path and runs the step by
 * id: this is what makes steps addressable. The child leads its own process group: a timeout or
 * cancellation kills the group (the step's own children too), and so does its end. `isolate:
 * { memoryMb }` caps its heap.
 */
import { fork } from "node:child_process";
import { TrainyardError, type ErrorInfo } from "../../core/errors.js";
import type { StepDef } from "../../core/step.js";
import type { LogLine } from "../../store/metadata-store.js";
import { LineSplitter, type LogSink } from "../log-lines.js";
import { distFile } from "../package-root.js";
import type { MetricInput } from "../metric-input.js";
import type { RunningStepContext } from "../step-context.js";
import type { StoreSpec } from "../store-choice.js";
import {
  ATTEMPT_TOKEN_ENV,
  killByToken,
  newAttemptToken,
  recordGroup,
  retireAttempt,
  signalGroup,
} from "./process-supervisor.js";

export interface IsolatedTask {
  bundlePath: string;
  stepId: string;
  params: Record<string, unknown>;
  args: unknown[];
  runId: string;
  attempt: number;
  itemIndex?: number;
  workRoot: string;
  home: string;
  /** The run's stores by name: the child opens them when the step calls `ctx.services()`. */
  stores?: StoreSpec;
}

export type ChildMessage =
  | { type: "log"; line: LogLine }
  | { type: "metric"; metric: MetricInput }
  | { type: "tag"; key: string; value: string }
  | { type: "warning"; message: string }
  | { type: "done"; value: unknown; workdir?: string }
  | { type: "error"; error: ErrorInfo };

export async function runIsolated(
  def: StepDef,
  ctx: RunningStepContext,
  task: IsolatedTask,
  onLog: LogSink,
): Promise<{ value: unknown; workdir?: string }> {
  const iso = typeof def.options.isolate === "object" ? def.options.isolate : {};
  const execArgv = ["--enable-source-maps", ...(iso.memoryMb ? [`--max-old-space-size=${iso.memoryMb}`] : [])];
  const token = newAttemptToken();
  const child = fork(distFile("engine/child-entry.js"), [], {
    execArgv,
    env: { ...process.env, [ATTEMPT_TOKEN_ENV]: token },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    serialization: "advanced",
    detached: true,
  });
  const forget = child.pid ? recordGroup(ctx.workRoot, ctx.runId, child.pid) : undefined;
  const killGroup = () => {
    if (child.pid) signalGroup(child.pid, "SIGKILL");
    killByToken([token]);
  };
  const out = new LineSplitter("stdout", onLog);
  const err = new LineSplitter("stderr", onLog);
  child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr!.on("data", (chunk: Buffer) => err.push(chunk));
  child.stdout!.on("end", () => out.end());
  child.stderr!.on("end", () => err.end());
  return await new Promise((resolve, reject) => {
    let settled = false;
    const unhook = ctx.cancel.onAbort(killGroup);
    child.on("message", (msg: ChildMessage) => {
      if (msg.type === "log") onLog(msg.line);
      else if (msg.type === "metric") ctx.metric(msg.metric.name, msg.metric.value, msg.metric);
      else if (msg.type === "tag") ctx.tag(msg.key, msg.value);
      else if (msg.type === "warning") ctx.reportWarning(msg.message);
      else if (msg.type === "done") {
        settled = true;
        resolve({ value: msg.value, workdir: msg.workdir });
      } else if (msg.type === "error") {
        settled = true;
        const e = Object.assign(new Error(msg.error.message), {
          name: msg.error.name,
          code: msg.error.code,
          hint: msg.error.hint,
          stack: msg.error.stack,
        });
        if (msg.error.fatal) Object.defineProperty(e, Symbol.for("trainyard.fatal"), { value: true });
        reject(e);
      }
    });
    child.on("exit", (code, signal) => {
      unhook();
      // What the step started and left running ends with it.
      if (child.pid) signalGroup(child.pid, "SIGKILL");
      forget?.();
      retireAttempt(token);
      if (settled) return;
      if (ctx.cancel.aborted) return reject(ctx.cancel.reason ?? new Error("cancelled"));
      const oom = code === 134 || signal === "SIGABRT";
      const ended = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(
        new TrainyardError(
          "STEP_FAILED",
          `step "${def.id}": its process ${ended}${oom ? " (out of memory?)" : ""} before finishing`,
          {
            step: def.id,
            hint:
              oom && iso.memoryMb
                ? `it may need more than ${iso.memoryMb} MB: raise isolate.memoryMb`
                : `see \`trainyard logs ${task.runId} ${def.id}\``,
          },
        ),
      );
    });
    child.send(task);
  });
}
