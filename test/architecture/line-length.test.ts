/**
 * Source lines stay within 120 characters everywhere: Biome formats code at 120 but leaves long
 * strings, comments, templates and regexes alone, so this test holds those to the same width.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const MAX = 120;
const ROOTS = ["src", "test", "bench", "examples", "scripts", "ui/src"];
const SOURCE = /\.(ts|tsx|mjs)$/;
const SKIP = new Set(["node_modules", "dist", "landing", ".work"]);

function sourceFiles(dir: string): string[] {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    // tmp-*: modules other tests write under test/fixtures while they run (not sources).
    if (SKIP.has(e.name) || e.name.startsWith("tmp-")) return [];
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : SOURCE.test(e.name) ? [path] : [];
  });
}

describe("line length", () => {
  it(`source lines are at most ${MAX} characters`, () => {
    const over: string[] = [];
    for (const file of ROOTS.flatMap(sourceFiles)) {
      const long = readFileSync(file, "utf8")
        .split("\n")
        .map((line, i) => ({ line, n: i + 1 }))
        .filter(({ line }) => line.length > MAX);
      over.push(...long.map(({ line, n }) => `${file}:${n} (${line.length} characters)`));
    }
    expect(over, "break these lines (npx biome format --write wraps code; split strings and comments)").toEqual([]);
  });
});
