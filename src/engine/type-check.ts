/**
 * Type-checks a pipeline module and its local imports with TypeScript's compiler API, so a model
 * wired where a dataset is expected fails before anything runs. A clean result is cached by the
 * content digests of those files (and the TypeScript and Trainyard versions): an unchanged module
 * is checked again for the cost of hashing a few files.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { TrainyardError } from "../core/errors.js";
import { PACKAGE_ROOT } from "./package-root.js";
import { explainTypeError, PROPERTY_MISMATCH } from "./type-check-words.js";

export interface TypeDiagnostic {
  file: string;
  /** 1-based, as editors count. */
  line: number;
  column: number;
  /** TypeScript's error number, e.g. 2322. */
  code: number;
  /** The compiler's message, its chain flattened. */
  message: string;
  /** The same in a pipeline's words, when there is a clearer way to say it. */
  explanation?: string;
}

export interface TypeCheckResult {
  ok: boolean;
  diagnostics: TypeDiagnostic[];
  /** The user's files that were checked: the module and its local imports. */
  files: string[];
  /** Answered from the cache of clean checks. */
  cached: boolean;
}

interface CacheEntry {
  stamp: string;
  tsconfig: string | null;
  files: Array<{ path: string; sha256: string }>;
}

/** TypeScript is an optional peer dependency: undefined when it is not installed. */
export function typescriptVersion(): string | undefined {
  try {
    const file = createRequire(join(PACKAGE_ROOT, "package.json")).resolve("typescript/package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Checks the module and throws TYPE_CHECK_FAILED with every diagnostic (`fields.diagnostics`);
 * does nothing when TypeScript is not installed (the caller says so if it wants).
 */
export async function requireTypeCorrect(modulePath: string, cacheDir: string): Promise<void> {
  // A missing module is the loader's to report (MODULE_LOAD, with its hint).
  if (!typescriptVersion() || !existsSync(resolve(modulePath))) return;
  const result = await typeCheckModule(modulePath, cacheDir);
  if (!result.ok) throw typeCheckFailed(modulePath, result);
}

export function typeCheckFailed(modulePath: string, result: TypeCheckResult): TrainyardError {
  const n = result.diagnostics.length;
  const first = result.diagnostics[0];
  const where = first
    ? `; the first at ${first.file}:${first.line}:${first.column}: ${first.explanation ?? first.message}`
    : "";
  return new TrainyardError("TYPE_CHECK_FAILED", `${n} type error${n === 1 ? "" : "s"} in ${modulePath}${where}`, {
    file: first?.file,
    diagnostics: result.diagnostics,
    hint: "fix them (`trainyard check <pipeline.ts>` lists them all), or pass --no-typecheck to run anyway",
  });
}

/** Checks `modulePath`; `cacheDir` keeps clean results (see moduleCacheDir). */
export async function typeCheckModule(modulePath: string, cacheDir: string): Promise<TypeCheckResult> {
  const abs = resolve(modulePath);
  const tsVersion = typescriptVersion();
  if (!tsVersion) throw new Error("typescript is not installed");
  const tsconfig = findTsconfig(dirname(abs)) ?? null;
  const stamp = `${tsVersion} ${trainyardVersion()} ${PACKAGE_ROOT}`;
  const entryFile = join(cacheDir, "typecheck", `${sha256(`${abs}\n${PACKAGE_ROOT}`).slice(0, 24)}.json`);
  const cached = readEntry(entryFile);
  if (cached && cached.stamp === stamp && cached.tsconfig === tsconfig && cached.files.every(unchanged)) {
    const files = cached.files.map((f) => f.path).filter((f) => f !== tsconfig);
    return { ok: true, diagnostics: [], files, cached: true };
  }
  const result = await compile(abs, tsconfig);
  if (result.ok) {
    const files = [...result.files, ...(tsconfig ? [tsconfig] : [])].map((path) => ({
      path,
      sha256: sha256(readFileSync(path)),
    }));
    writeEntry(entryFile, { stamp, tsconfig, files });
  }
  return result;
}

async function compile(abs: string, tsconfig: string | null): Promise<TypeCheckResult> {
  const ts = (await import("typescript")).default;
  const options = compilerOptions(ts, dirname(abs), tsconfig);
  const program = ts.createProgram({ rootNames: [abs], options });
  const own = [`${PACKAGE_ROOT}${sep}src${sep}`, `${PACKAGE_ROOT}${sep}dist${sep}`];
  const userFiles = program
    .getSourceFiles()
    .filter((f) => !f.isDeclarationFile && !f.fileName.includes("/node_modules/"))
    .filter((f) => !own.some((dir) => resolve(f.fileName).startsWith(dir)));
  const diagnostics: TypeDiagnostic[] = [];
  const missingNodeTypes = !options.types?.includes("node");
  const raw = [
    ...program.getOptionsDiagnostics(),
    ...userFiles.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  for (const d of raw) {
    if (d.category !== ts.DiagnosticCategory.Error) continue;
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    // Without @types/node installed, Node's modules cannot be typed; that is not the user's error.
    if (missingNodeTypes && (d.code === 2580 || d.code === 2591 || (d.code === 2307 && /'node:/.test(message))))
      continue;
    const file = d.file ? resolve(d.file.fileName) : (tsconfig ?? abs);
    const start = d.file && d.start !== undefined ? propertyStart(d.file.text, d.start, message) : undefined;
    const at = d.file && start !== undefined ? d.file.getLineAndCharacterOfPosition(start) : { line: 0, character: 0 };
    const subject = d.file && d.start !== undefined ? d.file.text.slice(d.start, d.start + (d.length ?? 0)) : "";
    const explanation = explainTypeError(message, subject);
    diagnostics.push({
      file,
      line: at.line + 1,
      column: at.character + 1,
      code: d.code,
      message,
      ...(explanation ? { explanation } : {}),
    });
  }
  const files = userFiles.map((f) => resolve(f.fileName));
  return { ok: diagnostics.length === 0, diagnostics, files, cached: false };
}

/**
 * Where the wrong property is, when the compiler points at the object holding it (an object given
 * where a union is expected): the line and column a user must change.
 */
function propertyStart(text: string, start: number, message: string): number {
  const prop = PROPERTY_MISMATCH.exec(message)?.[1];
  if (!prop) return start;
  const found = new RegExp(`[{,\\s]${prop.replace(/\$/g, "\\$")}\\s*:`).exec(text.slice(start, start + 500));
  return found ? start + found.index + 1 : start;
}

/** The project's tsconfig.json when there is one, else what a pipeline bundled by esbuild needs. */
function compilerOptions(ts: typeof import("typescript"), dir: string, tsconfig: string | null) {
  let options: import("typescript").CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    lib: ["lib.es2023.d.ts"],
  };
  if (tsconfig) {
    const read = ts.readConfigFile(tsconfig, (f) => ts.sys.readFile(f));
    options = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, dirname(tsconfig), undefined, tsconfig).options;
  }
  const typeRoots = typeRootsFrom(dir);
  const hasNode = typeRoots.some((root) => existsSync(join(root, "node", "package.json")));
  return {
    ...options,
    noEmit: true,
    skipLibCheck: true,
    typeRoots: options.typeRoots ?? typeRoots,
    types: options.types ?? (hasNode ? ["node"] : []),
    // `trainyard` is this installation, whatever the project's node_modules hold: the bundler does the same.
    paths: { ...trainyardPaths(), ...options.paths },
  };
}

/** node_modules/@types folders from the module's directory up, then Trainyard's own. */
function typeRootsFrom(dir: string): string[] {
  const roots: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, "node_modules", "@types");
    if (existsSync(candidate)) roots.push(candidate);
    if (dirname(d) === d) break;
  }
  const own = join(PACKAGE_ROOT, "node_modules", "@types");
  if (existsSync(own) && !roots.includes(own)) roots.push(own);
  return roots;
}

/**
 * The declaration file an export names; in a checkout where `npm run build:types` has not run
 * (dist/types/ is only built for `npm pack`), the source file it is built from.
 */
function typesOf(declared: string): string {
  const file = join(PACKAGE_ROOT, declared);
  if (existsSync(file)) return file;
  const source = join(PACKAGE_ROOT, declared.replace(/^\.?\/?dist\/types\//, "src/").replace(/\.d\.ts$/, ".ts"));
  return existsSync(source) ? source : file;
}

/** "trainyard/data" -> [<this package>/dist/types/lib/data/index.d.ts], from the package's exports. */
function trainyardPaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as {
    exports: Record<string, { types: string }>;
  };
  const paths: Record<string, string[]> = {};
  for (const [sub, entry] of Object.entries(pkg.exports)) {
    if (entry.types) paths[join("trainyard", sub).replace(/\/\.$|\/$/, "")] = [typesOf(entry.types)];
  }
  return paths;
}

function findTsconfig(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const file = join(d, "tsconfig.json");
    if (existsSync(file)) return file;
    if (existsSync(join(d, "package.json")) || dirname(d) === d) return undefined;
  }
}

function trainyardVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
}

function unchanged(f: { path: string; sha256: string }): boolean {
  try {
    return sha256(readFileSync(f.path)) === f.sha256;
  } catch {
    return false;
  }
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function readEntry(file: string): CacheEntry | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as CacheEntry;
  } catch {
    return undefined;
  }
}

/** Several processes may check the same module at once. */
function writeEntry(file: string, entry: CacheEntry): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, JSON.stringify(entry));
  renameSync(tmp, file);
}
