/**
 * Source lines stay within 120 characters (Biome formats at 120 but leaves long strings, comments
 * and templates alone). Files listed in LONG_LINES_LEFT may keep at most that many long lines
 * until they are rewritten; the list may only shrink.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const MAX = 120;
const ROOTS = ["src", "test", "bench", "examples", "scripts", "ui/src"];
const SOURCE = /\.(ts|tsx|mjs)$/;
const SKIP = new Set(["node_modules", "dist", "landing", ".work"]);

/** Long lines still to fix, by file (expressions inside templates, long regexes). */
const LONG_LINES_LEFT: Record<string, number> = {
  "bench/artifact-hash.ts": 1,
  "bench/engine-dag.ts": 1,
  "bench/gbdt.ts": 3,
  "bench/serve.ts": 2,
  "bench/support/timing.ts": 1,
  "bench/ui.ts": 2,
  "examples/python-training/pipeline.ts": 3,
  "scripts/ui-bundle-size.mjs": 1,
  "src/cli/commands/export.ts": 1,
  "src/cli/commands/fsck.ts": 1,
  "src/cli/commands/gc.ts": 1,
  "src/cli/commands/inspect.ts": 1,
  "src/cli/commands/models.ts": 2,
  "src/cli/commands/run.ts": 1,
  "src/cli/commands/status.ts": 1,
  "src/cli/lineage-tree.ts": 1,
  "src/cli/progress.ts": 2,
  "src/core/graph.ts": 1,
  "src/core/params.ts": 1,
  "src/engine/code-context.ts": 2,
  "src/engine/local-executor.ts": 1,
  "src/engine/runners/isolated-runner.ts": 1,
  "src/engine/trainyard.ts": 1,
  "src/engine/why.ts": 1,
  "src/lib/data/column-kind.ts": 2,
  "src/lib/data/data-error.ts": 1,
  "src/lib/data/drift.ts": 1,
  "src/lib/data/freshness.ts": 1,
  "src/lib/data/ingest-sqlite.ts": 1,
  "src/lib/data/ingest.ts": 1,
  "src/lib/data/report-html.ts": 13,
  "src/lib/data/split.ts": 1,
  "src/lib/data/steps/quality-steps.ts": 1,
  "src/lib/evaluate/evaluation-html.ts": 4,
  "src/lib/features/fit-features.ts": 1,
  "src/lib/gates/evaluate-gates.ts": 1,
  "src/lib/gates/gates-step.ts": 1,
  "src/lib/models/gbdt/kernel-codegen.ts": 1,
  "src/lib/models/gbdt/row-executor.ts": 3,
  "src/lib/models/gbdt/row-kernels.ts": 1,
  "src/serve/model-server.ts": 1,
  "src/serve/served-models.ts": 1,
  "test/daemon/daemon-faults.test.ts": 1,
  "test/daemon/daemon-status.test.ts": 1,
  "test/engine/caching.test.ts": 3,
  "test/engine/metrics.test.ts": 1,
  "test/engine/plan-agreement.ts": 1,
  "test/engine/process-control.test.ts": 1,
  "test/engine/registry-pipeline.ts": 1,
  "test/engine/scheduling.test.ts": 1,
  "test/evaluate/sklearn-parity.test.ts": 2,
  "test/features/chained-transforms.test.ts": 1,
  "test/features/fit-apply.test.ts": 1,
  "test/model-steps/import-model.test.ts": 1,
  "test/registry/sqlite-registry-store.test.ts": 1,
  "ui/src/screens/history-grid.tsx": 1,
  "ui/src/screens/run/gantt.tsx": 1,
  "ui/src/screens/run/run-page.tsx": 1,
};

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
      if (long.length > (LONG_LINES_LEFT[file] ?? 0)) {
        over.push(...long.map(({ line, n }) => `${file}:${n} (${line.length} characters)`));
      }
    }
    expect(over, "break these lines (npx biome format --write wraps code; split strings and comments)").toEqual([]);
  });

  it("the list of files with long lines left only names files that still have them", () => {
    const stale = Object.entries(LONG_LINES_LEFT).filter(([file, allowed]) => {
      let text = "";
      try {
        text = readFileSync(file, "utf8");
      } catch {
        return true;
      }
      return text.split("\n").filter((l) => l.length > MAX).length < allowed;
    });
    expect(
      stale.map(([file]) => file),
      "lower or remove these entries of LONG_LINES_LEFT",
    ).toEqual([]);
  });
});
