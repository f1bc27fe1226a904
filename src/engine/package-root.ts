/** Locations inside the Trainyard package itself, valid from src/ (tests) and dist/ (CLI). */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** src/engine or dist/engine -> package root. */
export const PACKAGE_ROOT = join(here, "..", "..");
export const DIST_DIR = join(PACKAGE_ROOT, "dist");

/** Built entry points that pipeline modules and child processes import. */
export const PUBLIC_ENTRIES: Record<string, string> = {
  trainyard: "index.js",
  "trainyard/data": "lib/data/index.js",
  "trainyard/models": "lib/models/index.js",
  "trainyard/testing": "testing/index.js",
  "trainyard/features": "lib/features/index.js",
  "trainyard/serving": "lib/serving/index.js",
};

export function distFile(rel: string): string {
  const file = join(DIST_DIR, rel);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run \`node scripts/build.mjs\` (npm ci and npm test do this) to build dist/`);
  }
  return file;
}
