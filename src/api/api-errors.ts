/**
 * Errors as the API answers them: `{ error: { code, message, hint, ...fields } }` with the CLI's
 * codes and hints, and the HTTP status that fits the code. Stack traces never leave the server.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { describeError, TrainyardError, type ErrorCode } from "../core/errors.js";

const STATUS: Record<string, ContentfulStatusCode> = {
  USAGE: 400,
  PARAM_INVALID: 400,
  UNKNOWN_PARAM: 400,
  PROFILE_UNKNOWN: 400,
  TRIGGER_INVALID: 400,
  REGISTRY_INVALID_NAME: 400,
  SERVE_TOKEN_REQUIRED: 401,
  SERVE_TOKEN_INVALID: 401,
  API_FORBIDDEN: 403,
  API_READ_ONLY: 403,
  NOT_FOUND: 404,
  RUN_NOT_RESUMABLE: 409,
  RUN_OWNED: 409,
  RUN_EXISTS: 409,
  // 409, not 400: the request is well formed; the runs stored now share the prefix (a longer one will do).
  RUN_AMBIGUOUS: 409,
  ALIAS_PINNED: 409,
  ALIAS_NOT_PINNED: 409,
  GATE_FAILED: 409,
  NO_ROLLBACK_TARGET: 409,
  IDEMPOTENCY_CONFLICT: 409,
  API_BODY_TOO_LARGE: 413,
  PIPELINE_INVALID: 422,
  PIPELINE_CYCLE: 422,
  MODULE_LOAD: 422,
  CONFIG_INVALID: 422,
  API_UI_MISSING: 503,
  DAEMON_NOT_RUNNING: 503,
};

/** The hint of a run that is not there, as the API words it. */
export const RUNS_HINT = "list runs with GET /api/v1/runs";

export function statusOf(code: string): ContentfulStatusCode {
  return STATUS[code] ?? 500;
}

export function errorBody(err: unknown): { status: ContentfulStatusCode; body: { error: Record<string, unknown> } } {
  const info = describeError(err);
  const fields = Object.fromEntries(Object.entries(info.fields ?? {}).filter(([, v]) => isPlainField(v)));
  const known = err instanceof TrainyardError || STATUS[info.code] !== undefined;
  const error = known
    ? { ...fields, code: info.code, message: info.message, ...(info.hint ? { hint: info.hint } : {}) }
    : { code: "INTERNAL", message: info.message, hint: "see the server's log; this is a bug if it repeats" };
  return { status: known ? statusOf(info.code) : 500, body: { error } };
}

/** Values an error body carries: scalars, and lists of flat records (e.g. the runs an ambiguous prefix matched). */
function isPlainField(v: unknown): boolean {
  const scalar = (x: unknown) => x === null || ["string", "number", "boolean"].includes(typeof x);
  if (scalar(v)) return true;
  return Array.isArray(v) && v.every((item) => scalar(item) || (isRecord(item) && Object.values(item).every(scalar)));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function sendError(c: Context, err: unknown): Response {
  const { status, body } = errorBody(err);
  if (status === 500) process.stderr.write(`api: ${c.req.method} ${c.req.path}: ${describeError(err).stack ?? err}\n`);
  return c.json(body, status);
}

export function apiError(
  code: ErrorCode,
  message: string,
  hint: string,
  fields: Record<string, unknown> = {},
): TrainyardError {
  return new TrainyardError(code, message, { hint, ...fields });
}
