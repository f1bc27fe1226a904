/**
 * Every shell block of the README and docs/ runs as a reader types it (test/support/shell-block.ts
 * says how): a page's blocks run in order in one folder, and a failing command fails the test with
 * its page and line. A page about a new project runs in the project README's sequence made from the
 * packed package; a page about this repository runs in a copy of a checkout (the built dist/ CLI).
 * A block that cannot run here says why in `<!-- docs-test: skip "reason" -->`; the skips are
 * listed and counted below, and a block with neither a run nor a marker fails.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../engine/support.js";
import { againstTarball, packedTarball, prebuildEnv, readmeStartProject } from "../support/packed-project.js";
import { requireTools, type ToolName } from "../support/require-tool.js";
import { inOtherTerminals, runShellBlock } from "../support/shell-block.js";
import { docModules, docPages, docShellBlocks, type ShellBlock } from "./doc-blocks.js";
import { type PageServices, type ServiceName, startServices } from "./page-services.js";

/** Where each page's commands run: a project made by README's sequence, or a checkout of this repository. */
const PAGE_FOLDERS: Record<string, "project" | "checkout"> = {
  "README.md": "project",
  "new-project.md": "project",
  "checking-pipelines.md": "project",
  "library.md": "project",
  "models.md": "project",
  "scale-out.md": "project",
  "distributed.md": "project",
  "getting-started.md": "checkout",
  "autonomy-demo.md": "checkout",
  "python.md": "checkout",
};

/** Tools a page's commands need beyond Node and npm (missing: skipped locally, failing under CI). */
const PAGE_TOOLS: Record<string, ToolName[]> = {
  "python.md": ["xgboost", "scikit-learn", "pandas"],
  "distributed.md": ["redis-server", "postgresql"],
  "scale-out.md": ["redis-server", "postgresql"],
};

/** Services a page's commands reach on loopback, started for the page and stopped after it. */
const PAGE_SERVICES: Record<string, ServiceName[]> = {
  "distributed.md": ["redis", "postgres"],
  "scale-out.md": ["redis", "postgres", "s3"],
};

/** The skips this test accepts: a new one must be added here too, so the list stays short and seen. */
const EXPECTED_SKIPS = 7;
const BLOCK_TIMEOUT = 120_000;

const blocks: ShellBlock[] = docPages(REPO).flatMap(docShellBlocks);
const pages = [...new Set(blocks.map((b) => b.page))];

describe("the docs' shell blocks", () => {
  it("each runs here or says why not; the skips are few and listed", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(20);
    const unplaced = blocks.filter((b) => !b.skip && !PAGE_FOLDERS[b.page]).map((b) => `${b.page}:${b.line}`);
    expect(unplaced, "a shell block on a page with no folder to run in and no skip marker").toEqual([]);
    const skips = blocks.filter((b) => b.skip).map((b) => `${b.page}:${b.line}: ${b.skip}`);
    console.log(
      `docs shell blocks: ${blocks.length - skips.length} run, ${skips.length} skipped:\n  ${skips.join("\n  ")}`,
    );
    expect(skips).toHaveLength(EXPECTED_SKIPS);
  });

  it("a failing command is reported with its line", async () => {
    const dir = join(REPO, "test-output", "docs-shell-broken");
    mkdirSync(dir, { recursive: true });
    const r = await runShellBlock("echo one\nfalse && echo two\necho three", {
      cwd: dir,
      env: process.env,
      timeoutMs: 20_000,
    });
    expect(r.ok).toBe(false);
    expect(r.line).toBe(2);
    expect(r.stdout).toBe("one\n");
  });

  it("a server that further commands follow runs as in another terminal; a last one in the foreground", () => {
    const block = "trainyard worker --queue gpu   # a GPU machine\ntrainyard run pipeline.ts\nnpx trainyard serve";
    expect(inOtherTerminals(block).split("\n")).toEqual([
      "trainyard worker --queue gpu &   # a GPU machine",
      "trainyard run pipeline.ts",
      "npx trainyard serve",
    ]);
  });

  for (const page of pages) {
    const runnable = blocks.filter((b) => b.page === page && !b.skip);
    if (runnable.length === 0) continue;
    requireTools(...(PAGE_TOOLS[page] ?? [])).describe(page, () => {
      let cwd: string;
      let env: NodeJS.ProcessEnv;
      let tarball: string;
      let startBlock: string;
      let services: PageServices | undefined;
      beforeAll(async () => {
        services = await startServices(PAGE_SERVICES[page] ?? []);
        const folder = await pageFolder(page, services);
        ({ cwd, env, tarball, startBlock } = folder);
      }, 15 * 60_000);
      afterAll(async () => services?.stop());

      for (const block of runnable) {
        it(
          `${page}:${block.line} runs`,
          async () => {
            if (startsReadmeSequence(block.code, startBlock)) {
              // The project folder was made by exactly this sequence (test/packaging checks its output).
              expect((await readmeStartProject()).output.ok).toBe(true);
              return;
            }
            const network = PAGE_SERVICES[page] ? "host" : "private";
            const code = againstTarball(block.code, tarball);
            const r = await runShellBlock(code, { cwd, env, timeoutMs: BLOCK_TIMEOUT, network });
            const at = `${page}:${block.line + (r.line ?? 1) - 1}`;
            expect(
              r.ok,
              `${at} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""})\n${r.stdout}\n${r.stderr}`,
            ).toBe(true);
            cwd = r.cwd;
          },
          BLOCK_TIMEOUT + 10_000,
        );
      }
    });
  }
});

interface PageFolder {
  cwd: string;
  env: NodeJS.ProcessEnv;
  tarball: string;
  /** README's start sequence, which made the project folder (not run again). */
  startBlock: string;
}

async function pageFolder(page: string, services: PageServices): Promise<PageFolder> {
  const { path: tarball } = await packedTarball();
  const start = await readmeStartProject();
  const runDir = dirname(dirname(tarball));
  const env = { ...(await prebuildEnv(runDir)), ...services.env };
  const dir = join(runDir, "docs-shell", page.replace(/\.md$/, ""));
  mkdirSync(dir, { recursive: true });
  if (PAGE_FOLDERS[page] === "checkout") {
    // The checkout's built parts are shared; examples are copied, since the pages write into them.
    for (const part of ["node_modules", "bin", "dist", "package.json", "templates", "scripts"]) {
      symlinkSync(join(REPO, part), join(dir, part));
    }
    cpSync(join(REPO, "examples"), join(dir, "examples"), {
      recursive: true,
      filter: (src) => !/\/(landing|demo|\.trainyard)$/.test(src),
    });
    return {
      cwd: dir,
      env: { ...env, PATH: `${join(REPO, "node_modules", ".bin")}:${env.PATH}` },
      tarball,
      startBlock: start.block,
    };
  }
  // The project as README's sequence left it (its home too), with its installed packages shared.
  const project = join(dir, "my-app");
  cpSync(start.dir, project, { recursive: true, filter: (src) => !src.startsWith(join(start.dir, "node_modules")) });
  symlinkSync(join(start.dir, "node_modules"), join(project, "node_modules"));
  await PAGE_SETUP[page]?.(project, env, services);
  const pathWithBin = `${join(project, "node_modules", ".bin")}:${env.PATH}`;
  return { cwd: project, env: { ...env, PATH: pathWithBin }, tarball, startBlock: start.block };
}

/** What a page assumes a reader has done before its commands, in the project folder. */
type PageSetup = (project: string, env: NodeJS.ProcessEnv, services: PageServices) => Promise<void>;
const PAGE_SETUP: Record<string, PageSetup> = {
  // The README's pipeline saved as weather.ts, with the Seattle weather data it reads.
  "README.md": async (project) => {
    const [weather] = docModules(join(REPO, "README.md")).filter((m) => m.run);
    writeFileSync(join(project, "weather.ts"), `${weather.code}\n`);
    const vega = join(dirname(createRequire(import.meta.url).resolve("vega-datasets")), "..", "data");
    copyFileSync(join(vega, "seattle-weather.csv"), join(project, "data", "seattle-weather.csv"));
  },
  // Two months of flights landed as the flagship lands them, for the contract examples.
  "library.md": async (project, env) => {
    const land = join(REPO, "examples", "flight-delays", "land-data.mjs");
    await setupCommand(`node ${land} --through 2 --landing landing`, project, env);
  },
  // "once a second run has trained version 2": the scaffold's pipeline with more rounds.
  "models.md": async (project, env) => {
    const file = join(project, "pipeline.ts");
    writeFileSync(file, readFileSync(file, "utf8").replace("numRounds: 50", "numRounds: 60"));
    await setupCommand("npx trainyard run pipeline.ts", project, env);
  },
  // The page's pipeline with a gpu queue, saved as the pipeline.ts its commands name, and the page's
  // trainyard.config.ts with this machine's Redis and object store in place of the page's ports.
  "scale-out.md": async (project, _env, services) => {
    const [queues] = docModules(join(REPO, "docs", "scale-out.md"));
    writeFileSync(join(project, "pipeline.ts"), `${queues.code}\n`);
    const config = pageBlock("scale-out.md", "js", "export default")
      .replace("redis://127.0.0.1:6379", services.redisUrl)
      .replace("http://127.0.0.1:9000", services.s3Endpoint)
      .replace("s3://ml-artifacts/", `s3://${services.s3Bucket}/`);
    writeFileSync(join(project, "trainyard.config.ts"), `${config}\n`);
  },
  // The page's first trainyard.config.ts, its machines' addresses replaced by this machine's services.
  "distributed.md": async (project, _env, services) => {
    const config = pageBlock("distributed.md", "ts", 'kind: "queue"')
      .replace("postgres://trainyard@db.internal:5432/trainyard", services.postgresUrl)
      .replace("redis://queue.internal:6379", services.redisUrl)
      .replace("/mnt/shared/trainyard-artifacts", join(project, "shared-artifacts"));
    writeFileSync(join(project, "trainyard.config.ts"), `${config}\n`);
  },
};

/** The first ```lang block of a docs page that contains `text`. */
function pageBlock(page: string, lang: string, text: string): string {
  const blocks = readFileSync(join(REPO, "docs", page), "utf8")
    .split(new RegExp(`^\`\`\`${lang}\\s*$`, "m"))
    .slice(1);
  const block = blocks.map((b) => b.split(/^```/m)[0]).find((b) => b.includes(text));
  if (!block) throw new Error(`docs/${page} has no \`\`\`${lang} block with ${text}`);
  return block.trimEnd();
}

async function setupCommand(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  const r = await runShellBlock(command, { cwd, env, timeoutMs: 180_000 });
  if (!r.ok) throw new Error(`\`${command}\` failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
}

/** The commands of a block, without comments and blank lines. */
function commandsOf(code: string): string[] {
  return code
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Whether a block's commands begin README's start sequence, which made the project folder. */
function startsReadmeSequence(code: string, startBlock: string): boolean {
  const mine = commandsOf(code);
  const start = commandsOf(startBlock);
  return mine.length > 0 && mine.length <= start.length && mine.every((c, i) => c === start[i]);
}
