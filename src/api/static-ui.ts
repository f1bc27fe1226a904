/**
 * The web UI's files from dist/ui (built with the package): a request path maps to a file only
 * when it is plain (no `..`, no encoded slash or backslash, no NUL) and the file's real path is
 * inside dist/ui; any other non-API path gets index.html, so deep links work in the browser.
 */
import { existsSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import type { Context } from "hono";
import { DIST_DIR } from "../engine/package-root.js";
import { apiError, sendError } from "./api-errors.js";

export const UI_DIR = join(DIST_DIR, "ui");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".wasm": "application/wasm",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

const UNSAFE = /(^|\/)\.\.?(\/|$)|%2f|%5c|%00|\\|\0/i;

export async function serveUi(c: Context, dir = UI_DIR): Promise<Response> {
  if (!existsSync(join(dir, "index.html"))) {
    const hint = "build it with `npm run build` (vite writes dist/ui), or use the API under /api/v1";
    return sendError(
      c,
      apiError("API_UI_MISSING", `the web UI is not built: ${join(dir, "index.html")} is missing`, hint),
    );
  }
  const raw = new URL(c.req.url).pathname;
  if (UNSAFE.test(raw) || UNSAFE.test(safeDecode(raw))) {
    return sendError(c, apiError("NOT_FOUND", "no such file", "UI paths are plain names under the UI's root"));
  }
  const file = await fileInside(dir, safeDecode(raw));
  const target = file ?? join(dir, "index.html");
  const body = await readFile(target);
  const type = TYPES[extname(target)] ?? "application/octet-stream";
  // Hashed assets never change; index.html must be fetched again to pick up a new build.
  const cache = file && raw.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
  return c.body(body, 200, { "content-type": type, "cache-control": cache, "x-content-type-options": "nosniff" });
}

async function fileInside(dir: string, path: string): Promise<string | undefined> {
  if (path === "/" || path === "") return undefined;
  const candidate = join(dir, path);
  const [real, root] = await Promise.all([realpath(candidate).catch(() => undefined), realpath(dir)]);
  if (!real?.startsWith(root + sep)) return undefined;
  const st = await stat(real).catch(() => undefined);
  return st?.isFile() ? real : undefined;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return "\0";
  }
}
