import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import SlowestFirstSequencer from "./test/support/slowest-first-sequencer.js";

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^trainyard$/, replacement: src("index.ts") },
      { find: /^trainyard\/data$/, replacement: src("lib/data/index.ts") },
      { find: /^trainyard\/models$/, replacement: src("lib/models/index.ts") },
      { find: /^trainyard\/testing$/, replacement: src("testing/index.ts") },
      { find: /^trainyard\/features$/, replacement: src("lib/features/index.ts") },
      { find: /^trainyard\/serving$/, replacement: src("lib/serving/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    maxWorkers: 2,
    // The slow files first, also in a fresh checkout with no record of earlier runs.
    sequence: { sequencer: SlowestFirstSequencer },
  },
});
