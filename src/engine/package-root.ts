/** Locations inside the Trainyard package itself, valid from src/ (tests) and dist/ (CLI). */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest directory above this module (src/engine/, or a chunk in dist/) with Trainyard's package.json. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string }).name === "trainyard")
        return dir;
    } catch {
      /* no package.json here */
    }
    if (dirname(dir) === dir) return join(here, "..", "..");
  }
}

export const PACKAGE_ROOT = packageRoot();
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
    throw new Error(
      `${file} is missing: run \`node scripts/build.mjs\` (npm test and npm start do this) to build dist/`,
    );
  }
  return file;
}
