// Without vitest's results cache, the files known to be slow start first; with it, vitest's own order stays.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TestSpecification } from "vitest/node";
import { REPO } from "../engine/support.js";
import SlowestFirstSequencer, { SLOW_FILES } from "./slowest-first-sequencer.js";

const root = "/project";

/** A sequencer over `root`, whose results cache holds `durations` (file -> ms). */
function sequencer(durations: Record<string, number>) {
  const project = { name: "", config: { sequence: { groupOrder: 0 }, isolate: true } };
  const cache = {
    getFileTestResults: (key: string) => {
      const ms = durations[key.slice(1)];
      return ms === undefined ? undefined : { duration: ms, failed: false };
    },
    getFileStats: (key: string) => ({ size: key.length }),
  };
  const ctx = { config: { root }, cache };
  const spec = (file: string) => ({ project, moduleId: join(root, file) }) as unknown as TestSpecification;
  return { sorter: new SlowestFirstSequencer(ctx as never), spec };
}

describe("the order of test files", () => {
  const files = ["test/a-long-name.test.ts", "test/faults/kill-resume.test.ts", "test/docs/docs-shell.test.ts"];

  it("puts the known slow files first, slowest first, when no run has been recorded", async () => {
    const { sorter, spec } = sequencer({});
    const sorted = await sorter.sort(files.map(spec));
    expect(sorted.map((s) => s.moduleId.slice(root.length + 1))).toEqual([
      "test/docs/docs-shell.test.ts",
      "test/faults/kill-resume.test.ts",
      "test/a-long-name.test.ts",
    ]);
  });

  it("keeps vitest's order (longest recorded run first) once runs are recorded", async () => {
    const durations = { "test/a-long-name.test.ts": 9_000, "test/faults/kill-resume.test.ts": 100 };
    const { sorter, spec } = sequencer({ ...durations, "test/docs/docs-shell.test.ts": 50 });
    const sorted = await sorter.sort(files.map(spec));
    expect(sorted.map((s) => s.moduleId.slice(root.length + 1))).toEqual([
      "test/a-long-name.test.ts",
      "test/faults/kill-resume.test.ts",
      "test/docs/docs-shell.test.ts",
    ]);
  });

  it("names only files that exist", () => {
    expect(SLOW_FILES.filter((f) => !existsSync(join(REPO, f)))).toEqual([]);
  });
});
