/**
 * CI must not pass by skipping: a test that depends on a tool or service goes through
 * test/support/require-tool.ts (which fails under CI), never through vitest's own skip switches.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const TEST = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const ALLOWED = new Set([path.join(TEST, "support", "require-tool.ts"), fileURLToPath(import.meta.url)]);
/** skipIf/runIf, it.skip / describe.skip / test.skip, and a test context's skip(). */
const SKIP = /\.(skipIf|runIf)\s*\(|\b(it|test|describe|suite|bench)\.skip\b|\b(ctx|context|t)\.skip\s*\(/;

function testFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    // tmp-*: modules other tests write under test/fixtures while they run, and delete again.
    if (e.name.startsWith("tmp-")) continue;
    if (e.isDirectory()) testFiles(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

it("no test skips itself except through requireTools", () => {
  const offenders: string[] = [];
  for (const file of testFiles(TEST)) {
    if (ALLOWED.has(file)) continue;
    fs.readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (SKIP.test(line)) offenders.push(`${path.relative(TEST, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  expect(offenders, "gate the test with requireTools(...) from test/support/require-tool.ts instead").toEqual([]);
});
