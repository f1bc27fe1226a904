/** Events a run emits while it executes: the CLI's progress display and the API listen to them. */
import type { ErrorInfo } from "../core/errors.js";
import type { LogLine, StepStatus } from "../store/metadata-store.js";

export type RunEvent =
  | { type: "run-started"; runId: string; pipeline: string; steps: string[] }
  | { type: "step-started"; stepId: string; itemIndex: number; attempt: number }
  | {
      type: "step-finished";
      stepId: string;
      itemIndex: number;
      status: StepStatus;
      cached: boolean;
      durationMs: number;
      attempts: number;
      items?: number;
      error?: ErrorInfo;
      reason?: string;
    }
  | { type: "step-retry"; stepId: string; itemIndex: number; attempt: number; delayMs: number; error: ErrorInfo }
  | { type: "map-expanded"; stepId: string; items: number }
  /** `line.line` holds several lines, separated by newlines, when output arrived in bulk. */
  | { type: "log"; stepId: string; itemIndex: number; line: LogLine }
  /** A metric a step recorded (ctx.metric or a $TRAINYARD_METRICS line), as it is recorded. */
  | { type: "metric"; stepId: string; itemIndex: number; name: string; value: number; step?: number }
  /** A problem that does not fail the step (a malformed metrics line); also in the step's log. */
  | { type: "warning"; stepId: string; itemIndex: number; message: string };
