/**
 * The TypeScript blocks of README.md and docs/*.md as modules: a block preceded by
 * `<!-- docs-test: continues -->` extends the module of the block before it on the same page,
 * and `<!-- docs-test: run -->` marks a pipeline the docs test runs for real.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

export interface DocModule {
  /** File name the module is written under, e.g. `models-1.ts`. */
  name: string;
  /** The page and the line of its first block, for failure messages. */
  source: string;
  code: string;
  run: boolean;
}

export function docPages(root: string): string[] {
  const docs = join(root, "docs");
  const pages = readdirSync(docs)
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(docs, f));
  return [join(root, "README.md"), ...pages.sort()];
}

export function docModules(page: string): DocModule[] {
  const stem = basename(page, ".md").toLowerCase();
  const lines = readFileSync(page, "utf8").split("\n");
  const modules: DocModule[] = [];
  let marker = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const m = /^<!-- docs-test: ([a-z ]+) -->$/.exec(line.trim());
    if (m) {
      marker = m[1];
      continue;
    }
    if (line.startsWith("```ts")) {
      const start = i + 1;
      const body: string[] = [];
      while (++i < lines.length && !lines[i].startsWith("```")) body.push(lines[i]);
      const code = body.join("\n");
      const last = modules.at(-1);
      if (marker.includes("continues") && last) last.code += `\n${code}`;
      else {
        const name = `${stem}-${modules.length + 1}.ts`;
        modules.push({ name, source: `${basename(page)}:${start}`, code, run: marker.includes("run") });
      }
      marker = "";
    } else if (line.trim() !== "") marker = "";
  }
  return modules;
}

/** A shell block of a page: how the docs tell a reader to type commands. */
export interface ShellBlock {
  page: string;
  /** The page's line of the block's first command (1-based), for failure messages. */
  line: number;
  code: string;
  /** Why the block cannot run here, from `<!-- docs-test: skip "reason" -->` above it. */
  skip?: string;
}

const SHELL_FENCE = /^```(sh|bash|console|shell)\s*$/;

/** Every ```sh / bash / console / shell block of `page`, with the skip marker above it, if any. */
export function docShellBlocks(page: string): ShellBlock[] {
  const lines = readFileSync(page, "utf8").split("\n");
  const blocks: ShellBlock[] = [];
  let skip: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const marker = /^<!-- docs-test: skip "([^"]+)" -->$/.exec(line.trim());
    if (marker) {
      skip = marker[1];
      continue;
    }
    if (SHELL_FENCE.test(line)) {
      const start = i + 2;
      const body: string[] = [];
      while (++i < lines.length && !lines[i].startsWith("```")) body.push(lines[i]);
      blocks.push({ page: basename(page), line: start, code: body.join("\n"), skip });
      skip = undefined;
    } else if (line.trim() !== "" && !line.trim().startsWith("<!--")) skip = undefined;
  }
  return blocks;
}
