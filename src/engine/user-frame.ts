/**
 * Where in the user's own code an error was thrown: the first stack frame outside Node, installed
 * packages and Trainyard itself. Pipeline bundles carry inline source maps, so with source maps
 * enabled the frame names the user's .ts file and line, not the bundle.
 */
import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_ROOT } from "./package-root.js";

const OWN_CODE = [`${PACKAGE_ROOT}${sep}dist${sep}`, `${PACKAGE_ROOT}${sep}src${sep}`];

/** "file:line:col" of the first frame in the user's code, or undefined when there is none. */
export function userFrame(err: unknown): string | undefined {
  const stack = typeof err === "object" && err !== null ? (err as { stack?: unknown }).stack : undefined;
  if (typeof stack !== "string") return undefined;
  for (const line of stack.split("\n")) {
    const m = /^\s+at (?:.*?\()?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?$/.exec(line);
    if (!m) continue;
    const file = m[1].startsWith("file://") ? fileURLToPath(m[1]) : m[1];
    if (isUserFile(file)) return `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/** The lines of a stack that are in the user's code, for a log that should not drown in internals. */
export function userStackLines(err: unknown): string[] {
  const stack = typeof err === "object" && err !== null ? (err as { stack?: unknown }).stack : undefined;
  if (typeof stack !== "string") return [];
  return stack.split("\n").filter((line) => {
    const m = /^\s+at (?:.*?\()?((?:file:\/\/)?\/[^()]*?):\d+:\d+\)?$/.exec(line);
    if (!m) return false;
    return isUserFile(m[1].startsWith("file://") ? fileURLToPath(m[1]) : m[1]);
  });
}

function isUserFile(file: string): boolean {
  if (file.includes(`${sep}node_modules${sep}`)) return false;
  // A frame still in a cached bundle (source maps off) names no file the user knows.
  if (/[\\/]trainyard[\\/]modules[\\/][0-9a-f]+\.mjs$/.test(file)) return false;
  return !OWN_CODE.some((dir) => file.startsWith(dir));
}
