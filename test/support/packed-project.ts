/**
 * The published package, as a user gets it: `npm pack` of this repository, installed into an empty
 * folder outside it, and that folder scaffolded by `trainyard init`. Packing and installing are
 * slow, so each is done once per test run (in the run's folder from the global setup) and shared
 * by every test file that asks, across worker processes, under a lock directory.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { inject } from "vitest";
import { docShellBlocks } from "../docs/doc-blocks.js";
import { REPO } from "../engine/support.js";
import { runShellBlock, type ShellBlockResult } from "./shell-block.js";

export interface CommandResult {
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell: no npm lifecycle variables of this repo's `npm test`, no repo bin on PATH. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !k.startsWith("VITEST")) env[k] = v;
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((d) => !d.startsWith(REPO))
    .join(delimiter);
  return { ...env, NO_COLOR: "1", TRAINYARD_DEBUG: "", ...extra };
}

/** Runs a program in `cwd` and collects its output; never throws on a non-zero exit. */
export function runIn(cwd: string, argv: string[], env: NodeJS.ProcessEnv = userEnv()): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ command: argv.join(" "), code, stdout, stderr }));
  });
}

/** Throws with the command's output unless it exited 0. */
export function succeeded(r: CommandResult): CommandResult {
  if (r.code !== 0) {
    throw new Error(`\`${r.command}\` exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r;
}

const memo = new Map<string, Promise<unknown>>();

/**
 * Computes `name` once per test run: the first caller (in any worker) runs `make` under a lock
 * directory and stores its JSON result; the others wait for that file.
 */
function oncePerRun<T>(name: string, make: (runDir: string) => Promise<T>): Promise<T> {
  const existing = memo.get(name);
  if (existing) return existing as Promise<T>;
  const promise = (async () => {
    const runDir = inject("runDir");
    const result = join(runDir, `${name}.json`);
    const failure = join(runDir, `${name}.error`);
    let owner = false;
    try {
      mkdirSync(join(runDir, `${name}.lock`));
      owner = true;
    } catch {
      /* another worker makes it */
    }
    if (owner) {
      try {
        const value = await make(runDir);
        writeFileSync(result, JSON.stringify(value));
        return value;
      } catch (err) {
        writeFileSync(failure, String((err as Error).stack ?? err));
        throw err;
      }
    }
    for (;;) {
      if (existsSync(result)) return JSON.parse(readFileSync(result, "utf8")) as T;
      if (existsSync(failure)) {
        throw new Error(`${name} failed in another test file:\n${readFileSync(failure, "utf8")}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  memo.set(name, promise);
  return promise;
}

export interface PackedTarball {
  path: string;
  /** `npm pack`'s output, listing the files. */
  output: CommandResult;
}

/** `npm pack` of this repository (its prepack builds dist/ and the .d.ts files). */
export function packedTarball(): Promise<PackedTarball> {
  return oncePerRun("packed-tarball", async (runDir) => {
    const dir = join(runDir, "pack");
    mkdirSync(dir);
    const output = succeeded(await runIn(REPO, ["npm", "pack", "--pack-destination", dir]));
    const file = readdirSync(dir).find((f) => /^trainyard-.*\.tgz$/.test(f));
    if (!file) throw new Error(`npm pack wrote no trainyard-*.tgz into ${dir}:\n${output.stdout}\n${output.stderr}`);
    return { path: join(dir, file), output };
  });
}

export interface InstalledProject {
  dir: string;
  tarball: string;
  /** `npm i <tarball>`'s output. */
  install: CommandResult;
  /**
   * The top-level packages `npm i <tarball>` left in node_modules, read right after it: the folder is
   * shared, and a later `trainyard init` and `npm install` there (scaffoldedProject) adds dev tools.
   */
  installed: string[];
}

/**
 * A folder outside the repository holding only a package.json that approves the two install scripts
 * (as npm asks a project to), then `npm i <tarball>`. better-sqlite3 finds its addon, compiled for
 * this Node by this repository's `npm ci`, as a local prebuild instead of compiling it again.
 */
export function installedProject(): Promise<InstalledProject> {
  return oncePerRun("installed-project", async (runDir) => {
    const { path: tarball } = await packedTarball();
    const dir = join(runDir, "project");
    mkdirSync(dir);
    const manifest = {
      name: "first-hour",
      private: true,
      allowScripts: { "better-sqlite3": true, esbuild: true, "msgpackr-extract": true },
    };
    writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    await useLocalPrebuild(runDir, dir);
    const install = succeeded(await runIn(dir, ["npm", "i", tarball]));
    const modules = join(dir, "node_modules");
    const installed = readdirSync(modules).flatMap((name) =>
      name.startsWith("@") ? readdirSync(join(modules, name)).map((sub) => `${name}/${sub}`) : [name],
    );
    return { dir, tarball, install, installed };
  });
}

export interface ScaffoldedProject extends InstalledProject {
  /** `npx trainyard init`'s output. */
  init: CommandResult;
  /** `npm install` after init (the scaffold's dev tools). */
  devInstall: CommandResult;
}

/** The installed project after `npx trainyard init` and `npm install`. */
export function scaffoldedProject(): Promise<ScaffoldedProject> {
  return oncePerRun("scaffolded-project", async () => {
    const installed = await installedProject();
    const init = succeeded(await runIn(installed.dir, ["npx", "trainyard", "init"]));
    const devInstall = succeeded(await runIn(installed.dir, ["npm", "install"]));
    return { ...installed, init, devInstall };
  });
}

/**
 * Points prebuild-install at a folder of prebuilt addons through its own rc file in the project
 * (an npm config or an environment variable with a dash would make npm warn or the shell drop it).
 */
export async function useLocalPrebuild(runDir: string, projectDir: string): Promise<void> {
  const pkgDir = join(REPO, "node_modules", "better-sqlite3");
  const addon = join(pkgDir, "build", "Release", "better_sqlite3.node");
  if (!existsSync(addon)) return;
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  const dir = join(runDir, "prebuilds");
  const target = `node-v${process.versions.modules}-${process.platform}-${process.arch}`;
  const file = join(dir, `better-sqlite3-v${version}-${target}.tar.gz`);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file)) {
    // Written aside and renamed: installs started side by side must never read a half-written archive.
    const part = `${file}.${process.pid}-${Math.random().toString(36).slice(2)}.part`;
    succeeded(await runIn(pkgDir, ["tar", "-czf", part, "build/Release/better_sqlite3.node"]));
    renameSync(part, file);
  }
  writeFileSync(join(projectDir, ".prebuild-installrc"), `local-prebuilds=${dir}\n`);
}

/**
 * A user's environment for npm and npx, in which better-sqlite3 finds this repository's addon as a
 * local prebuild from any folder npm installs it into (npx's own cache too): prebuild-install reads
 * `~/.prebuild-installrc`, so HOME is a folder of this run, while npm keeps the user's config and cache.
 */
export async function prebuildEnv(runDir: string): Promise<NodeJS.ProcessEnv> {
  const home = join(runDir, "home");
  mkdirSync(home, { recursive: true });
  await useLocalPrebuild(runDir, home);
  const userHome = process.env.HOME ?? "/root";
  return userEnv({
    HOME: home,
    npm_config_userconfig: process.env.npm_config_userconfig ?? join(userHome, ".npmrc"),
    npm_config_cache: process.env.npm_config_cache ?? join(userHome, ".npm"),
  });
}

/**
 * A block of the docs as typed against the packed tarball: the package is not on the registry
 * here, so `npx -y trainyard` fetches the tarball instead; everything else is the docs' text.
 */
export function againstTarball(code: string, tarball: string): string {
  return code.replaceAll(/\bnpx -y trainyard\b/g, `npx -y --package=${tarball} trainyard`);
}

export interface ReadmeStartProject {
  /** The folder the README's sequence ends in (the new project). */
  dir: string;
  /** The block as the README shows it. */
  block: string;
  output: ShellBlockResult;
}

/** README's "Start a project" block, run exactly as written in an empty folder against the packed tarball. */
export function readmeStartProject(): Promise<ReadmeStartProject> {
  return oncePerRun("readme-start-project", async (runDir) => {
    const { path: tarball } = await packedTarball();
    const block = docShellBlocks(join(REPO, "README.md")).find((b) => /trainyard init/.test(b.code));
    if (!block) throw new Error("README.md has no shell block with `trainyard init`");
    const empty = join(runDir, "readme-start");
    mkdirSync(empty);
    const env = await prebuildEnv(runDir);
    const output = await runShellBlock(againstTarball(block.code, tarball), {
      cwd: empty,
      env,
      timeoutMs: 10 * 60_000,
    });
    if (!output.ok) {
      throw new Error(
        `README.md:${block.line + (output.line ?? 1) - 1} failed (exit ${output.code})\n` +
          `--- stdout\n${output.stdout}\n--- stderr\n${output.stderr}`,
      );
    }
    return { dir: output.cwd, block: block.code, output };
  });
}
