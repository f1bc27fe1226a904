/**
 * `trainyard init [dir] [--force]`: scaffolds a project that runs and passes its test as generated:
 * package.json, tsconfig.json, a pipeline on the shipped penguins data, a test using
 * `trainyard/testing`, a .gitignore for the home and a short README. Existing files are kept
 * (package.json and .gitignore are completed instead) unless --force replaces them.
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { has, type ParsedArgs } from "../args.js";
import { TrainyardError } from "../../core/errors.js";
import { PACKAGE_ROOT } from "../../engine/package-root.js";
import { bold, dim, green } from "../format.js";

export const INIT_USAGE = "trainyard init [dir] [--force]";

/** Template files whose published name differs: npm drops a file named .gitignore from tarballs. */
const RENAMED: Record<string, string> = { gitignore: ".gitignore" };

/** Dev tools of the scaffold, at the versions this package is developed with. */
const DEV_TOOLS = ["typescript", "tsx", "@types/node"] as const;
const FALLBACK_VERSIONS: Record<string, string> = { typescript: "^5.9.3", tsx: "^4.23.15", "@types/node": "^20.19.43" };

/** Install scripts the project approves (npm asks projects to): SQLite's native build, esbuild's binary check. */
const ALLOWED_SCRIPTS: Record<string, boolean> = { "better-sqlite3": true, esbuild: true, "msgpackr-extract": true };

const SCRIPTS: Record<string, string> = {
  start: "trainyard run pipeline.ts",
  test: "tsx --test test/*.test.ts",
  typecheck: "tsc --noEmit",
};

interface OwnPackage {
  version: string;
  devDependencies?: Record<string, string>;
}

export async function initCommand(args: ParsedArgs): Promise<number> {
  if (args.positionals.length > 1) {
    throw new TrainyardError("USAGE", `init takes one folder, got ${args.positionals.length}`, {
      hint: `usage: ${INIT_USAGE}`,
    });
  }
  const dir = resolve(args.positionals[0] ?? ".");
  const report = scaffoldProject(dir, { force: has(args, "force") });
  const fromHere = relative(process.cwd(), dir);
  const shown = fromHere === "" ? "." : fromHere.startsWith("..") ? dir : fromHere;
  const lines = [`${green("✔")} scaffolded a Trainyard project in ${shown}`];
  for (const f of report.written) lines.push(`  ${green("+")} ${f}`);
  for (const f of report.completed) lines.push(`  ${green("~")} ${f} ${dim("(completed)")}`);
  for (const f of report.kept) lines.push(`  ${dim(`= ${f} (exists, kept; --force replaces it)`)}`);
  lines.push("", bold("next:"));
  if (shown !== ".") lines.push(`  cd ${shown}`);
  lines.push("  npm install                    # the dev tools: typescript, tsx");
  lines.push("  npx trainyard run pipeline.ts  # train, evaluate, gate and deploy penguins@production");
  lines.push("  npm test                       # the pipeline's test");
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

export interface ScaffoldReport {
  written: string[];
  completed: string[];
  kept: string[];
}

/** Writes the project's files into `dir` (created when missing). */
export function scaffoldProject(dir: string, opts: { force: boolean }): ScaffoldReport {
  const templates = join(PACKAGE_ROOT, "templates", "init");
  if (!existsSync(templates)) {
    throw new TrainyardError("NOT_FOUND", `the project templates are missing from ${templates}`, {
      file: templates,
      hint: "reinstall trainyard: its package ships templates/init",
    });
  }
  mkdirSync(dir, { recursive: true });
  const report: ScaffoldReport = { written: [], completed: [], kept: [] };
  const own = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as OwnPackage;
  writePackageJson(dir, own, opts.force, report);
  for (const rel of listFiles(templates)) {
    const target = RENAMED[rel] ?? rel;
    const dest = join(dir, target);
    if (target === ".gitignore" && existsSync(dest) && !opts.force) {
      if (completeGitignore(dest, readFileSync(join(templates, rel), "utf8"))) report.completed.push(target);
      else report.kept.push(target);
      continue;
    }
    if (existsSync(dest) && !opts.force) {
      report.kept.push(target);
      continue;
    }
    mkdirSync(join(dest, ".."), { recursive: true });
    copyFileSync(join(templates, rel), dest);
    report.written.push(target);
  }
  return report;
}

/** A new package.json, or the missing fields added to an existing one (as after `npm i trainyard`). */
function writePackageJson(dir: string, own: OwnPackage, force: boolean, report: ScaffoldReport): void {
  const file = join(dir, "package.json");
  const exists = existsSync(file);
  let pkg: Record<string, any> = {};
  if (exists && !force) {
    try {
      pkg = JSON.parse(readFileSync(file, "utf8"));
    } catch (cause) {
      throw new TrainyardError("USAGE", `${file} is not valid JSON: ${(cause as Error).message}`, {
        file,
        cause,
        hint: "fix package.json, or run `trainyard init --force` to replace it",
      });
    }
  }
  pkg.name ??=
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-")
      .replace(/^[._-]+/, "") || "trainyard-project";
  pkg.private ??= true;
  pkg.type ??= "module";
  pkg.scripts = { ...SCRIPTS, ...pkg.scripts };
  pkg.dependencies = { ...pkg.dependencies };
  pkg.dependencies.trainyard ??= ownDependencySpec(own, dir);
  pkg.devDependencies = { ...pkg.devDependencies };
  for (const tool of DEV_TOOLS) pkg.devDependencies[tool] ??= own.devDependencies?.[tool] ?? FALLBACK_VERSIONS[tool];
  pkg.allowScripts = { ...ALLOWED_SCRIPTS, ...pkg.allowScripts };
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  (exists && !force ? report.completed : report.written).push("package.json");
}

/**
 * `^version`, or the local tarball or folder this copy was installed from (as by
 * `npx -y --package ./trainyard-0.1.0.tgz trainyard init`), so the project installs the same build.
 */
function ownDependencySpec(own: OwnPackage, projectDir: string): string {
  const installRoot = join(PACKAGE_ROOT, "..", "..");
  const lockfile = join(installRoot, "node_modules", ".package-lock.json");
  if (basename(join(PACKAGE_ROOT, "..")) !== "node_modules" || !existsSync(lockfile)) return `^${own.version}`;
  try {
    const lock = JSON.parse(readFileSync(lockfile, "utf8")) as { packages?: Record<string, { resolved?: string }> };
    const resolved = lock.packages?.[`node_modules/${basename(PACKAGE_ROOT)}`]?.resolved;
    if (!resolved?.startsWith("file:")) return `^${own.version}`;
    const source = resolve(installRoot, resolved.slice("file:".length));
    return `file:${relative(projectDir, source) || "."}`;
  } catch {
    // An unreadable lockfile only costs the local source: the registry version is the default anyway.
    return `^${own.version}`;
  }
}

/** Appends the template's ignore lines that `file` lacks; false when it had them all. */
function completeGitignore(file: string, template: string): boolean {
  const have = new Set(
    readFileSync(file, "utf8")
      .split("\n")
      .map((l) => l.trim()),
  );
  const missing = template.split("\n").filter((l) => l.trim() && !l.startsWith("#") && !have.has(l.trim()));
  if (missing.length === 0) return false;
  const text = readFileSync(file, "utf8");
  appendFileSync(file, `${text.endsWith("\n") || text === "" ? "" : "\n"}${missing.join("\n")}\n`);
  return true;
}

function listFiles(root: string, sub = ""): string[] {
  return readdirSync(join(root, sub), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(root, join(sub, e.name)) : [join(sub, e.name)],
  );
}
