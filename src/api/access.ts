/**
 * Who may call the API: a bearer token (header, cookie or `token` query parameter, compared in
 * constant time) whenever one is set; without one, only requests addressed to a loopback name,
 * so a page rebinding its DNS to 127.0.0.1 gets nothing. Calls that are not GET also need a
 * same-origin sign (`X-Requested-With`, or an Origin equal to the server's), which no other
 * site's page can send without a preflight this server never grants: no CSRF.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { tokensEqual } from "./api-token.js";
import { apiError, sendError } from "./api-errors.js";

export const TOKEN_COOKIE = "trainyard_token";

export interface AccessPolicy {
  /** Required on every API call when set. */
  token?: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function hostName(host: string | undefined): string {
  if (!host) return "";
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(host);
  return (m?.[1] ?? host).toLowerCase();
}

function givenToken(c: Context): string | undefined {
  const auth = c.req.header("authorization");
  if (auth?.toLowerCase().startsWith("bearer ")) return auth.slice(7).trim();
  return c.req.query("token") ?? getCookie(c, TOKEN_COOKIE);
}

/** Checks the token (or the loopback host) of every /api request; remembers a valid `?token=` in a cookie. */
export function requireAccess(policy: AccessPolicy): MiddlewareHandler {
  return async (c, next) => {
    const api = c.req.path.startsWith("/api/");
    if (!policy.token) {
      if (api && !LOOPBACK.has(hostName(c.req.header("host")))) {
        const hint =
          "open the UI at http://127.0.0.1:<port>/, or start `trainyard ui` with --token to serve other names";
        return sendError(c, apiError("API_FORBIDDEN", `host "${c.req.header("host")}" is not a loopback name`, hint));
      }
      return next();
    }
    const token = givenToken(c);
    if (token !== undefined && tokensEqual(token, policy.token)) {
      // A link with ?token= logs the browser in: its later calls and event streams carry the cookie.
      if (c.req.query("token") !== undefined) {
        setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/" });
      }
      return next();
    }
    if (!api) return next();
    const hint =
      "send `Authorization: Bearer <token>`; the token is printed by `trainyard ui` and kept in <home>/api-token";
    if (token === undefined) return sendError(c, apiError("SERVE_TOKEN_REQUIRED", "this API requires a token", hint));
    return sendError(c, apiError("SERVE_TOKEN_INVALID", "the token is wrong", hint));
  };
}

/** Calls other than GET/HEAD must come from this server's own pages (or a program that says so). */
export function requireSameOrigin(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    const own = origin !== undefined && new URL(c.req.url).host === safeHost(origin);
    const marked = c.req.header("x-requested-with") !== undefined;
    const crossSite =
      site === "cross-site" || site === "same-site" || (origin !== undefined && origin !== "null" && !own);
    if (!crossSite && (marked || own || site === "same-origin")) return next();
    const hint =
      "send the header `X-Requested-With: trainyard` from a program; browsers may call only from the UI's own origin";
    return sendError(c, apiError("API_FORBIDDEN", `${c.req.method} ${c.req.path} needs a same-origin request`, hint));
  };
}

function safeHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
