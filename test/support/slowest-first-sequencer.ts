/**
 * The order in which vitest hands test files to its two workers. Vitest runs the files that took
 * longest in earlier runs first, from its results cache in node_modules/.vite; a fresh checkout (CI,
 * after `npm ci`) has no such cache, and vitest then orders files by size, so a short file with a slow
 * test (test/faults/kill-resume.test.ts is 25 lines and takes 40 s) would start last, leaving the
 * other worker idle until it ends. Without a cache, the files known to be slow go first instead.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/** The slowest files of a full run on two cores (over 25 s each), slowest first. */
export const SLOW_FILES = [
  "test/docs/docs-shell.test.ts",
  "test/packaging/packed-package.test.ts",
  "test/daemon/daemon-overlap.test.ts",
  "test/faults/fault-injection.test.ts",
  "test/distributed/queue-failures.test.ts",
  "test/distributed/queue-run.test.ts",
  "test/distributed/lost-answers.test.ts",
  "test/faults/kill-resume.test.ts",
  "test/docs/api-reference.test.ts",
  "test/daemon/daemon-crash-points.test.ts",
  "test/ui/ui-flows.test.ts",
  "test/engine/run-lease.test.ts",
  "test/distributed/cluster-search.test.ts",
];

export default class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = this.ctx.config.root;
    const path = (f: TestSpecification) => relative(root, f.moduleId).split("\\").join("/");
    const cached = sorted.some((f) => this.ctx.cache.getFileTestResults(`${f.project.name}:${path(f)}`));
    if (cached) return sorted;
    const rank = (f: TestSpecification) => {
      const i = SLOW_FILES.indexOf(path(f));
      return i < 0 ? SLOW_FILES.length : i;
    };
    // Array.prototype.sort is stable: the other files keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
