#!/usr/bin/env node
// The `trainyard` command. Runs the built CLI (dist/), which `npm ci` builds via `prepare`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli/entry.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("trainyard: dist/ is missing; run `npm run build` (npm ci does it for you)\n");
  process.exit(1);
}
await import(entry.href);
