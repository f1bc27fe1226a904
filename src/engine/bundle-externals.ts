/**
 * The packages a pipeline bundle imports, named so another installation can load it: the bundle
 * imports packages by absolute file URL (it lives in a cache, where bare names would not
 * resolve), and its last line maps each URL to its package and the file inside it. A worker
 * relinks those URLs to its own Trainyard and to the packages installed for its own project.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { TrainyardError } from "../core/errors.js";
import { PACKAGE_ROOT } from "./package-root.js";

/** A package file the bundle imports: the package's name and the file's path inside it (with `/`). */
export interface ExternalImport {
  package: string;
  file: string;
}

const MARK = "// trainyard-externals ";

/** `@scope/name` or `name` of a bare specifier such as `@scope/name/sub` or `lodash/fp`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The package `file` (resolved from `specifier`) belongs to: the nearest package.json of that name above it. */
export function externalImportOf(specifier: string, file: string): ExternalImport | undefined {
  const name = packageNameOf(specifier);
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === name) return { package: name, file: relative(dir, file).split(sep).join("/") };
    } catch {
      // no package.json here: look further up
    }
  }
  return undefined;
}

/** The line appended to a bundle that imports `externals` (by URL). */
export function externalsLine(externals: Map<string, ExternalImport>): string {
  return externals.size ? `\n${MARK}${JSON.stringify(Object.fromEntries(externals))}\n` : "";
}

/**
 * The bundle's code with each package import pointing into this installation: Trainyard's own
 * entries to this Trainyard, other packages to the first `node_modules` holding them above one of
 * `projectDirs`. An import found nowhere here keeps its URL if that file exists, else fails naming it.
 */
export function relinkBundle(code: string, projectDirs: string[], where: { bundle: string }): string {
  const at = code.lastIndexOf(`\n${MARK}`);
  if (at < 0) return code;
  const externals = JSON.parse(code.slice(at + MARK.length + 1).trim()) as Record<string, ExternalImport>;
  let out = code;
  for (const [url, ext] of Object.entries(externals)) {
    const local = localFileOf(ext, projectDirs);
    if (local) out = out.split(JSON.stringify(url)).join(JSON.stringify(pathToFileURL(local).href));
    else if (!existsSync(fileURLToPath(url)))
      throw new TrainyardError(
        "WORKER_MISSING_DEPENDENCY",
        `package "${ext.package}", which the pipeline imports, is not installed on this worker ` +
          `(looked in node_modules above ${projectDirs.join(", ")})`,
        {
          file: where.bundle,
          hint: `npm install ${ext.package} in the project the worker runs from (its working directory)`,
        },
      );
  }
  return out;
}

function localFileOf(ext: ExternalImport, projectDirs: string[]): string | undefined {
  if (ext.package === "trainyard") {
    const own = join(PACKAGE_ROOT, ...ext.file.split("/"));
    return existsSync(own) ? own : undefined;
  }
  for (const start of projectDirs)
    for (let dir = start; ; dir = dirname(dir)) {
      const file = join(dir, "node_modules", ...ext.package.split("/"), ...ext.file.split("/"));
      if (existsSync(file)) return file;
      if (dirname(dir) === dir) break;
    }
  return undefined;
}
