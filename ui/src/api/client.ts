/**
 * The UI's only way to the server: JSON over /api/v1. Errors come back as the API renders them
 * (the CLI's codes and hints) and are thrown as ApiError, with their whole body, so screens can
 * show them or act on their code (e.g. list the runs an ambiguous run-id prefix matched).
 */
import type { ApiErrorBody } from "./types";

export const API_BASE = "/api/v1";

/** The access token, when the server asks for one: from `?token=` once, then kept for the tab. */
export function accessToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    sessionStorage.setItem("trainyard-token", fromUrl);
    const url = new URL(location.href);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem("trainyard-token") ?? undefined;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    /** The error as the server sent it: code, message, hint and the fields naming what went wrong. */
    readonly body: ApiErrorBody = { code, message },
  ) {
    super(message);
  }
}

function headers(mutating: boolean): Record<string, string> {
  const h: Record<string, string> = { accept: "application/json" };
  const token = accessToken();
  if (token) h.authorization = `Bearer ${token}`;
  // The server refuses mutating calls without a same-origin sign: another site's page cannot set it.
  if (mutating) {
    h["content-type"] = "application/json";
    h["x-requested-with"] = "trainyard";
  }
  return h;
}

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
  extra: Record<string, string> = {},
): Promise<T> {
  const mutating = method !== "GET";
  const res = await fetch(API_BASE + path, {
    method,
    headers: { ...headers(mutating), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  return readResponse<T>(res);
}

/** A response's JSON, or its error as an ApiError (for requests sent before this module loaded, too). */
export async function readResponse<T>(res: Response): Promise<T> {
  const text = await res.text();
  const json = text ? safeJson(text) : undefined;
  if (!res.ok) {
    const err = (json as { error?: Record<string, unknown> } | undefined)?.error ?? (json as Record<string, unknown>);
    const code = String(err?.code ?? `HTTP_${res.status}`);
    const message = String(err?.message ?? (text || res.statusText));
    const hint = err?.hint === undefined ? undefined : String(err.hint);
    // Not every answer is the API's own (a proxy's page, a bare status): code and message are always set.
    throw new ApiError(res.status, code, message, hint, { ...err, code, message, hint });
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, undefined, signal),
  post: <T>(path: string, body: unknown = {}, extraHeaders?: Record<string, string>) =>
    request<T>("POST", path, body, undefined, extraHeaders),
  put: <T>(path: string, body: unknown = {}) => request<T>("PUT", path, body),
  del: <T>(path: string) => request<T>("DELETE", path),
};

/** `?a=1&b=2` from the defined entries of an object. */
export function queryString(q: Record<string, string | number | boolean | undefined>): string {
  const entries = Object.entries(q).filter(([, v]) => v !== undefined && v !== "");
  if (!entries.length) return "";
  return "?" + new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString();
}
