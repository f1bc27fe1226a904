/**
 * Loads a pipeline module (TypeScript) by bundling it with esbuild into a module cache.
 * Packages stay external (resolved to absolute paths, so the bundle can live anywhere), and
 * `trainyard` resolves to this package's built entry points. An unchanged module (every bundled
 * source file has the same size and mtime) is imported straight from the cache without esbuild.
 *
 * The cache belongs to the user, not to a home (see moduleCacheDir): a bundle depends only on its
 * sources and on this installation, so a fresh home (a test, a CI job, a new project) reuses it
 * instead of starting esbuild again, which cost a cold run more than its first steps did.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { isBuiltin } from "node:module";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { isTrainyardError, TrainyardError } from "../core/errors.js";
import { isPipeline, type Pipeline } from "../core/pipeline.js";
import { CONFIG_FILE_NAMES, type TrainyardConfig } from "../core/config.js";
import { loadTimeoutError, loadTimeoutMs, watchModuleLoad } from "./load-watchdog.js";
import { type ExternalImport, externalImportOf, externalsLine } from "./bundle-externals.js";
import { DIST_DIR, distFile, PUBLIC_ENTRIES } from "./package-root.js";

export interface LoadedModule {
  pipeline: Pipeline<any>;
  modulePath: string;
  bundlePath: string;
  /** sha256 of the bundled code: changes whenever any source the module imports changes. */
  codeVersion: string;
  /** Local source files bundled into the module (the module itself included). */
  sourceFiles: string[];
}

interface CacheEntry {
  bundle: string;
  codeVersion: string;
  inputs: Array<{ path: string; size: number; mtimeMs: number }>;
}

const loaded = new Map<string, LoadedModule>();

/** Changes when bundles are laid out differently (e.g. their source map paths), so old entries are rebuilt. */
const BUNDLE_LAYOUT = "3";

/**
 * Where bundled modules are cached: TRAINYARD_CACHE_DIR, else `$XDG_CACHE_HOME/trainyard`, else
 * `~/.cache/trainyard`; `fallback` (the home's own cache) when none of those can be written.
 */
export function moduleCacheDir(fallback: string): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const dir =
    process.env.TRAINYARD_CACHE_DIR || join(xdg?.startsWith("/") ? xdg : join(homedir(), ".cache"), "trainyard");
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return dir;
  } catch {
    return fallback;
  }
}

export async function loadPipelineModule(modulePath: string, cacheDir: string): Promise<LoadedModule> {
  const abs = resolve(modulePath);
  const { bundlePath, codeVersion, sourceFiles } = await bundleModule(abs, cacheDir);
  const key = bundlePath;
  const hit = loaded.get(key);
  if (hit) return hit;
  let mod: { default?: unknown };
  const timeoutMs = loadTimeoutMs();
  try {
    mod = await importUserModule(bundlePath, abs, "pipeline module", timeoutMs);
  } catch (err) {
    // Trainyard's own errors (a bad trigger declaration, a param) keep their code and hint.
    if (isTrainyardError(err) && err.code === "MODULE_LOAD") throw err;
    if (isTrainyardError(err)) {
      throw new TrainyardError(err.code, `${err.message} (in ${abs})`, {
        ...err.fields,
        file: abs,
        hint: err.hint,
        cause: err,
      });
    }
    throw new TrainyardError("MODULE_LOAD", `pipeline module ${abs} failed while loading: ${(err as Error).message}`, {
      file: abs,
      cause: err,
      hint: "fix the error above in the module (it runs at import time); `npm run typecheck` finds type errors",
    });
  }
  const p = mod.default;
  if (!isPipeline(p)) {
    throw new TrainyardError("MODULE_LOAD", `${abs} does not default-export a pipeline`, {
      file: abs,
      hint: 'build it with `const p = pipeline("name", {...})`, add steps, and end the module with `export default p`',
    });
  }
  p.modulePath = abs;
  const result = { pipeline: p, modulePath: abs, bundlePath, codeVersion, sourceFiles };
  loaded.set(key, result);
  return result;
}

/** The config file in a directory (trainyard.config.ts, .mjs or .js), if there is one. */
export function findConfigFile(dir: string): string | undefined {
  return CONFIG_FILE_NAMES.map((f) => join(dir, f)).find(existsSync);
}

/** Loads and validates `trainyard.config.ts` from the directory if there is one. */
export async function loadConfigModule(dir: string, cacheDir: string): Promise<TrainyardConfig | undefined> {
  const file = findConfigFile(dir);
  return file ? (await loadConfigFile(file, cacheDir)).config : undefined;
}

export interface LoadedConfig {
  config: TrainyardConfig;
  file: string;
}

/** Loads a config module within the load timeout; CONFIG_INVALID names the field that is wrong. */
export async function loadConfigFile(file: string, cacheDir: string): Promise<LoadedConfig> {
  const abs = resolve(file);
  if (!existsSync(abs)) {
    const hint = "pass the path of a trainyard.config.ts (or drop --config to use the one next to the pipeline)";
    throw new TrainyardError("NOT_FOUND", `config file ${abs} does not exist`, { file: abs, hint });
  }
  const { bundlePath } = await bundleModule(abs, cacheDir);
  const mod = await importUserModule(bundlePath, abs, "config module", loadTimeoutMs());
  // Loaded only when a config exists: zod stays off the start-up path of every other command.
  const { validateConfig } = await import("./config-schema.js");
  return { config: validateConfig(mod.default, abs), file: abs };
}

/**
 * Imports a bundle, running the user's top-level code, within the load timeout: a module that
 * awaits forever is rejected with MODULE_LOAD, and one stuck in a loop ends the process (see
 * load-watchdog.ts). Signals keep their default effect meanwhile (the CLI hooks them later).
 */
async function importUserModule(
  bundlePath: string,
  file: string,
  what: string,
  timeoutMs: number,
): Promise<{ default?: unknown }> {
  const watchdog = watchModuleLoad(file, what, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(loadTimeoutError(file, what, timeoutMs, false)), timeoutMs);
  });
  // Stack traces of the user's code then name its .ts files and lines (the bundle's inline map).
  process.setSourceMapsEnabled(true);
  try {
    return (await Promise.race([import(pathToFileURL(bundlePath).href), timeout])) as { default?: unknown };
  } finally {
    clearTimeout(timer);
    watchdog.stop();
  }
}

export async function bundleModule(
  abs: string,
  cacheDir: string,
): Promise<{ bundlePath: string; codeVersion: string; sourceFiles: string[] }> {
  if (!existsSync(abs)) {
    throw new TrainyardError("MODULE_LOAD", `pipeline module ${abs} does not exist`, {
      file: abs,
      hint:
        "pass the path of a .ts file that default-exports a pipeline, " +
        "e.g. `trainyard run examples/flight-delays/pipeline.ts`",
    });
  }
  const dir = join(cacheDir, "modules");
  // Bundles name this installation's dist/ files, so each installation has its own entries.
  const indexFile = join(
    dir,
    `${createHash("sha256").update(`${DIST_DIR}\n${abs}\n${BUNDLE_LAYOUT}`).digest("hex").slice(0, 24)}.json`,
  );
  const cached = readCacheEntry(indexFile);
  if (cached)
    return {
      bundlePath: cached.bundle,
      codeVersion: cached.codeVersion,
      sourceFiles: cached.inputs.map((i) => i.path),
    };

  const esbuild = await import("esbuild");
  const externals = new Map<string, ExternalImport>();
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [abs],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      write: false,
      // Source map paths are relative to the output's directory, where the bundle is then written.
      outfile: join(dir, "bundle.mjs"),
      metafile: true,
      sourcemap: "inline",
      logLevel: "silent",
      plugins: [externalPackages(externals)],
    });
  } catch (err) {
    const first = (
      err as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } }> }
    ).errors?.[0];
    const where = first?.location
      ? `${resolve(first.location.file)}:${first.location.line}:${first.location.column}`
      : abs;
    throw new TrainyardError(
      "MODULE_LOAD",
      `pipeline module ${abs} does not compile: ${first?.text ?? (err as Error).message} (${where})`,
      {
        file: first?.location?.file ? resolve(first.location.file) : abs,
        hint: "fix the syntax or import error at that location",
        cause: err,
      },
    );
  }
  // The packages it imports, by name, so that a worker with another install layout can relink them.
  const code = result.outputFiles[0].text + externalsLine(externals);
  const codeVersion = createHash("sha256").update(code).digest("hex");
  mkdirSync(dir, { recursive: true });
  const bundle = join(dir, `${codeVersion.slice(0, 32)}.mjs`);
  if (!existsSync(bundle)) atomicWrite(bundle, code);
  const inputs = Object.keys(result.metafile.inputs).map((p) => {
    const path = resolve(p);
    const st = statSync(path);
    return { path, size: st.size, mtimeMs: st.mtimeMs };
  });
  atomicWrite(indexFile, JSON.stringify({ bundle, codeVersion, inputs } satisfies CacheEntry));
  return { bundlePath: bundle, codeVersion, sourceFiles: inputs.map((i) => i.path) };
}

function readCacheEntry(file: string): CacheEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, "utf8")) as CacheEntry;
    if (!existsSync(entry.bundle)) return undefined;
    for (const input of entry.inputs) {
      const st = statSync(input.path);
      if (st.size !== input.size || st.mtimeMs !== input.mtimeMs) return undefined;
    }
    return entry;
  } catch {
    return undefined;
  }
}

/** Several processes, or threads of one, may bundle the same module at once. */
function atomicWrite(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function externalPackages(externals: Map<string, ExternalImport>): import("esbuild").Plugin {
  return {
    name: "trainyard-externals",
    setup(build) {
      // import.meta.url/dirname/filename keep naming the source file, not the cached bundle.
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = await readFile(args.path, "utf8");
        if (!text.includes("import.meta")) return undefined;
        const contents = text
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path));
        const ext = extname(args.path).replace(/^\.[cm]?/, "");
        return {
          contents,
          loader: (ext === "ts" || ext === "tsx" || ext === "jsx" ? ext : "js") as "ts" | "tsx" | "jsx" | "js",
          resolveDir: dirname(args.path),
        };
      });
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === "inner") return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const entry = PUBLIC_ENTRIES[args.path];
        if (entry) {
          const url = pathToFileURL(distFile(entry)).href;
          externals.set(url, { package: "trainyard", file: `dist/${entry}` });
          return { path: url, external: true };
        }
        if (/^[A-Za-z]:|^\//.test(args.path)) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: "inner",
        });
        if (resolved.errors.length) {
          return {
            errors: [
              {
                text:
                  `cannot find package "${args.path}" imported from ${args.importer}; install it ` +
                  `with npm install ${args.path}`,
              },
            ],
          };
        }
        const url = pathToFileURL(resolved.path).href;
        const external = externalImportOf(args.path, resolved.path);
        if (external) externals.set(url, external);
        return { path: url, external: true };
      });
    },
  };
}
