/**
 * The HTTP edges of the model server: bounded JSON bodies in, JSON (and errors as
 * `{ error: { code, message, field? } }`) out. Plain `node:http`: no framework on the hot path.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { TrainyardError, type ErrorCode, type UserCode } from "../core/errors.js";

/** A client error with the status it renders as; `field` names the offending input. */
export class HttpError extends TrainyardError {
  constructor(
    readonly status: number,
    code: ErrorCode | UserCode,
    message: string,
    readonly extra: { field?: string; row?: number; hint?: string; allow?: string } = {},
  ) {
    super(code, message, { hint: extra.hint, ...(extra.field === undefined ? {} : { field: extra.field }) });
    this.name = "HttpError";
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  // Headers as a flat array: node:http skips normalising an object on every response.
  const flat: string[] = ["content-type", "application/json", "content-length", String(Buffer.byteLength(text))];
  if (headers) for (const [k, v] of Object.entries(headers)) flat.push(k, v);
  res.writeHead(status, flat);
  res.end(text);
}

/** Sends JSON text that is already serialized (the predict response, built from a per-model prefix). */
export function sendJsonText(res: ServerResponse, status: number, text: string, headers?: string[]): void {
  const flat = ["content-type", "application/json", "content-length", String(Buffer.byteLength(text))];
  if (headers) flat.push(...headers);
  res.writeHead(status, flat);
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError, extraHeaders?: Record<string, string>): void {
  const { field, row, hint, allow } = err.extra;
  const headers: Record<string, string> = { ...extraHeaders };
  if (allow) headers.allow = allow;
  // Unread request bytes would be parsed as the next request on a kept-alive socket.
  if (err.status === 413) headers.connection = "close";
  sendJson(res, err.status, { error: { code: err.code, message: err.message, field, row, hint } }, headers);
}

/** Bytes accepted past the limit while draining, so the client reads our 413 instead of a reset. */
const DRAIN_CAP = 64 * 1024 * 1024;

/**
 * Reads a request body up to `limit` bytes and parses it as JSON. A body over the limit rejects
 * with 413 as soon as that is known (from Content-Length or while streaming); the rest is
 * drained and discarded.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) =>
    receiveJsonBody(req, limit, (err, body) => (err ? reject(err) : resolve(body))),
  );
}

/** Receives a parsed body, or the HttpError that rejected it. */
export type BodyCallback = (err: HttpError | undefined, body?: unknown) => void;

/** `readJsonBody` with a callback, called exactly once: the server's hot path, without a promise per request. */
export function receiveJsonBody(req: IncomingMessage, limit: number, done: BodyCallback): void {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) {
    drain(req);
    done(tooLarge(limit));
    return;
  }
  let settled = false;
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  const settle = (err: HttpError | undefined, body?: unknown) => {
    if (settled) return;
    settled = true;
    done(err, body);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      req.off("data", onData);
      req.off("end", onEnd);
      drain(req);
      settle(tooLarge(limit));
      return;
    }
    // Almost every request body arrives as one chunk: keep it without an array.
    if (first === undefined) first = chunk;
    else (chunks ??= [first]).push(chunk);
  };
  const onEnd = () => {
    const text =
      first === undefined
        ? ""
        : chunks === undefined
          ? first.toString("utf8")
          : Buffer.concat(chunks, size).toString("utf8");
    // A body starting with "{" (the usual one) is not blank: skip the scan.
    if (text.length === 0 || (text.charCodeAt(0) !== 123 && !/\S/.test(text))) {
      return settle(
        new HttpError(400, "EMPTY_BODY", "the request body is empty", { hint: 'send JSON such as {"rows": [{...}]}' }),
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return settle(
        new HttpError(400, "INVALID_JSON", `the request body is not valid JSON: ${(err as Error).message}`, {
          hint: "NaN and Infinity are not JSON; send null for a missing value",
        }),
      );
    }
    settle(undefined, body);
  };
  req.on("data", onData);
  req.on("end", onEnd);
  req.on("error", (err) => settle(new HttpError(400, "BAD_REQUEST", `reading the request failed: ${err.message}`)));
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "BODY_TOO_LARGE", `the request body exceeds ${limit} bytes`, {
    hint:
      "send fewer rows per request, " +
      "or raise the server's limit (trainyard serve --max-body 4MiB; maxBodyBytes in the API)",
  });
}

function drain(req: IncomingMessage): void {
  let seen = 0;
  req.on("data", (c: Buffer) => {
    seen += c.length;
    if (seen > DRAIN_CAP) req.destroy();
  });
  req.resume();
}

/**
 * The rows of a predict request: `{ "rows": [...] }` or `{ "instances": [...] }`, each an object.
 * Field-level checks (types, extra or missing fields) belong to the predictor, which knows them.
 */
export function predictRows(body: unknown, maxRows: number): unknown[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "INVALID_BODY", "the request body must be a JSON object", {
      hint: 'send {"rows": [{...}, ...]}',
    });
  }
  const keys = Object.keys(body);
  const extra = keys.find((k) => k !== "rows" && k !== "instances");
  if (extra !== undefined)
    throw new HttpError(400, "UNKNOWN_FIELD", `unknown top-level field "${extra}"`, {
      field: extra,
      hint: 'the body has one field, "rows" (or "instances")',
    });
  if (keys.length > 1)
    throw new HttpError(400, "AMBIGUOUS_ROWS", 'send either "rows" or "instances", not both', { field: "instances" });
  const name = keys[0] ?? "rows";
  const rows = (body as Record<string, unknown>)[name];
  if (rows === undefined)
    throw new HttpError(400, "MISSING_ROWS", 'the request has no "rows"', {
      field: "rows",
      hint: 'send {"rows": [{...}, ...]}',
    });
  if (!Array.isArray(rows))
    throw new HttpError(400, "INVALID_ROWS", `"${name}" must be an array of objects`, { field: name });
  if (rows.length === 0)
    throw new HttpError(400, "EMPTY_ROWS", `"${name}" is empty`, { field: name, hint: "send at least one row" });
  if (rows.length > maxRows)
    throw new HttpError(413, "TOO_MANY_ROWS", `${rows.length} rows exceed the limit of ${maxRows} per request`, {
      field: name,
      hint: "split the request",
    });
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw new HttpError(400, "NOT_AN_OBJECT", `${name}[${i}] must be an object of field: value`, {
        field: `${name}[${i}]`,
        row: i,
      });
    }
  }
  return rows;
}
