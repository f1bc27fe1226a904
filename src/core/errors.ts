/**
 * One error family for the whole product. Every error has a stable `code`, structured fields
 * naming where it happened, and a `hint` that tells the user what to do next.
 */
const BRAND = Symbol.for("trainyard.error");
const FATAL = Symbol.for("trainyard.fatal");
const REJECTED = Symbol.for("trainyard.rejected");

import { asErrorCode, defaultHint, type ErrorCode, SYSTEM_HINTS, type UserCode } from "./error-catalog.js";

export { ERROR_CATALOG, isErrorCode, asErrorCode, type ErrorCode, type UserCode } from "./error-catalog.js";

export interface ErrorFields {
  runId?: string;
  step?: string;
  file?: string;
  column?: string;
  param?: string;
  [key: string]: unknown;
}

export class TrainyardError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode | UserCode;
  readonly hint?: string;
  readonly fields: ErrorFields;

  /** Without a `hint`, the error carries the catalog's hint for its code. */
  constructor(
    code: ErrorCode | UserCode,
    message: string,
    opts: { hint?: string; cause?: unknown } & ErrorFields = {},
  ) {
    const { hint, cause, ...fields } = opts;
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TrainyardError";
    this.code = code;
    this.hint = hint ?? defaultHint(code);
    this.fields = fields;
  }
}

/**
 * A pipeline's own error with a code of its choosing (e.g. `TRAINING_DIVERGED`) and a hint: shown
 * like the product's errors, in the terminal, `show`, the logs and the UI.
 */
export class StepError extends TrainyardError {
  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown } & ErrorFields = {}) {
    super(asErrorCode(code), message, opts);
    this.name = "StepError";
  }
}

/** Thrown by a step to fail at once: the engine never retries a Fatal error. */
export class Fatal extends Error {
  readonly [FATAL] = true;
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = "Fatal";
  }
}

/**
 * Thrown by a gate step when a candidate must not go further. Not a crash: the step's `output`
 * (its verdicts and evidence) is stored, every step downstream is skipped, and the run ends
 * "rejected" rather than "failed".
 */
export class Rejected extends Error {
  readonly [REJECTED] = true;
  readonly output: unknown;
  constructor(message: string, opts: { output?: unknown } = {}) {
    super(message);
    this.name = "Rejected";
    this.output = opts.output;
  }
}

export function isRejected(err: unknown): err is Rejected {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[REJECTED] === true;
}

/** Brand checks instead of instanceof, so errors crossing module instances or processes still classify. */
export function isTrainyardError(err: unknown): err is TrainyardError {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

export function isFatal(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    ((err as Record<symbol, unknown>)[FATAL] === true || (err as Error).name === "Fatal")
  );
}

/** A plain, JSON-safe description of any thrown value, for the metadata store and the CLI. */
export interface ErrorInfo {
  code: string;
  message: string;
  name: string;
  hint?: string;
  fields?: ErrorFields;
  stack?: string;
  fatal?: boolean;
  cause?: ErrorInfo;
}

export function describeError(err: unknown, depth = 0): ErrorInfo {
  if (isTrainyardError(err)) {
    return {
      code: String(err.code),
      name: err.name,
      message: err.message,
      hint: err.hint,
      fields: err.fields,
      stack: err.stack,
      cause: err.cause !== undefined && depth < 3 ? describeError(err.cause, depth + 1) : undefined,
    };
  }
  if (err instanceof Error) {
    const extra = err as unknown as { code?: unknown; hint?: unknown; fields?: unknown };
    const code = typeof extra.code === "string" ? extra.code : "USER_ERROR";
    const hint = typeof extra.hint === "string" ? extra.hint : SYSTEM_HINTS[code];
    return {
      code,
      name: err.name,
      message: err.message,
      hint,
      stack: err.stack,
      fatal: isFatal(err) || undefined,
      cause: err.cause !== undefined && depth < 3 ? describeError(err.cause, depth + 1) : undefined,
    };
  }
  return { code: "USER_ERROR", name: "Error", message: String(err) };
}

/** Formats an error for a terminal: message, where, and what to do. */
export function formatError(info: ErrorInfo): string {
  const lines = [`error[${info.code}]: ${info.message}`];
  if (typeof info.fields?.at === "string") lines.push(`  at ${info.fields.at}`);
  if (info.cause && info.cause.message !== info.message) lines.push(`  caused by: ${info.cause.message}`);
  if (info.hint) lines.push(`  hint: ${info.hint}`);
  return lines.join("\n");
}
