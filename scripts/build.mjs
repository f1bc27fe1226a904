// Transpiles src/**/*.ts to dist/**/*.js (no bundling) so the CLI and child processes start
// without a TypeScript loader. Type checking is `npm run typecheck`.
import { build } from "esbuild";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function listSources(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listSources(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

// No wipe of dist/ first: a CLI or child process running from it meanwhile keeps working.
await build({
  entryPoints: listSources("src"),
  outdir: "dist",
  outbase: "src",
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
});
