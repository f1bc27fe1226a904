// Builds dist/ from src/ for the CLI and child processes, so they start without a TypeScript
// loader. Type checking is `npm run typecheck`; the published .d.ts files (dist/types/) come from
// `npm run build:types`, which `npm pack` runs.
//
// Bundled with code splitting: one file per entry point (the package's exports, the CLI, the
// isolated-step child) and shared chunks in dist/chunks/, so the CLI, the pipeline modules it
// loads (which import the package's entry points) and child processes share one copy of every
// module. Loading a few chunks instead of ~170 files cut a tenth off every CLI start.
import { build } from "esbuild";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildUi } from "./build-ui.mjs";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const BUNDLED = new Set(["better-sqlite3"]);
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies })
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);
const entryPoints = [
  ...Object.values(pkg.exports).map((e) => e.default.replace(/^\.\/dist\/(.*)\.js$/, "src/$1.ts")),
  "src/cli/entry.ts",
  "src/engine/child-entry.ts",
];

// No wipe of dist/ first: a CLI or child process running from it meanwhile keeps working.
const result = await build({
  entryPoints,
  outdir: "dist",
  outbase: "src",
  bundle: true,
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  // Dependencies stay in node_modules, but for better-sqlite3's JavaScript (not its addon): every
  // command opens the metadata store, and loading that package's dozen CommonJS files one by one
  // (each resolved, read and wrapped) cost more than its code. Bundled CommonJS calls require,
  // which the banner provides.
  external: [...external, "bindings"],
  banner: {
    js:
      "import { createRequire as __trainyardRequire } from " +
      '"node:module";\nconst require = __trainyardRequire(import.meta.url);',
  },
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
});

// Outputs of earlier builds (old chunks, files of the unbundled layout) go once they are an hour
// old: a process started from them before this build may still load one lazily. `--clean` (for
// `npm pack`) removes them all, and the declaration files, which `build:types` writes afresh.
const clean = process.argv.includes("--clean");
if (clean) rmSync("dist/types", { recursive: true, force: true });
const current = new Set(Object.keys(result.metafile.outputs).map((f) => resolve(f)));
const staleBefore = clean ? Infinity : Date.now() - 3600_000;
const sweep = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (resolve(p) !== resolve("dist/ui")) sweep(p);
    } else if (/\.js(\.map)?$/.test(name) && !current.has(resolve(p)) && st.mtimeMs < staleBefore)
      rmSync(p, { force: true });
  }
};
sweep("dist");

// The web UI after the code: dist/ui/ is swept by its own build, not by the sweep above.
await buildUi();
