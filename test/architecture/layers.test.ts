/**
 * The dependency rules of src/ (STYLE.md: core <- store <- engine <- lib <- {serve, daemon, api, cli}),
 * checked by parsing every import, plus the absence of import cycles between files.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(fileURLToPath(new URL("../../src", import.meta.url)));

interface ImportRef {
  from: string;
  specifier: string;
  /** Resolved file under src/ for relative imports. */
  target?: string;
  typeOnly: boolean;
  line: number;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Removes comments and the contents of template literals' text is kept (imports never live there). */
function stripComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`\\])\/\/[^\n]*/g, (m, p1: string) => p1 + " ".repeat(m.length - p1.length));
}

function importsOf(file: string): ImportRef[] {
  const text = stripComments(fs.readFileSync(file, "utf8"));
  const refs: ImportRef[] = [];
  const lineAt = (i: number) => text.slice(0, i).split("\n").length;
  const add = (specifier: string, index: number, typeOnly: boolean) => {
    let target: string | undefined;
    if (specifier.startsWith(".")) {
      const abs = path.resolve(path.dirname(file), specifier);
      const candidates = [
        abs.replace(/\.js$/, ".ts"),
        abs.replace(/\.mjs$/, ".mts"),
        `${abs}.ts`,
        path.join(abs, "index.ts"),
        abs,
      ];
      target = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? abs;
    }
    refs.push({ from: file, specifier, target, typeOnly, line: lineAt(index) });
  };
  // import x from "y"; import { a } from "y"; import type { T } from "y"; export { a } from "y"; export * from "y"
  const staticRe = /(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^;'"`]*?\bfrom\s*)?["']([^"']+)["']/g;
  for (let m; (m = staticRe.exec(text)); ) {
    const clause = m[3] ?? "";
    const typeOnly = Boolean(m[2]) || /^\{\s*(type\s+[^,}]+\s*,?\s*)+\}\s*from/.test(clause.trim());
    // `export const x = ...` has no `from` clause and no string right after; skip non-module statements.
    if (m[1] === "export" && !m[3]) continue;
    add(m[4], m.index, typeOnly);
  }
  const dynamicRe = /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;
  for (let m; (m = dynamicRe.exec(text)); ) add(m[1], m.index, false);
  const requireRe = /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g;
  for (let m; (m = requireRe.exec(text)); ) add(m[1], m.index, false);
  return refs;
}

const RANK: Record<string, number> = {
  core: 0,
  store: 1,
  engine: 2,
  // The distributed executor sits on the engine (it imports core, store, engine); the engine never imports it.
  distributed: 2.5,
  lib: 3,
  testing: 4,
  serve: 5,
  daemon: 5,
  api: 5,
  cli: 5,
};

/** The layer of a file under src/: its first folder, or "index" for src/index.ts. */
function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel.length === 1) return rel[0] === "index.ts" ? "index" : `root:${rel[0]}`;
  return rel[0];
}

const PUBLIC_SELF = /^trainyard(\/|$)/;

function violations(): string[] {
  const out: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = layerOf(file);
    for (const ref of importsOf(file)) {
      const where = `${path.relative(SRC, file)}:${ref.line} imports "${ref.specifier}"`;
      if (PUBLIC_SELF.test(ref.specifier)) {
        out.push(`${where}: src/ must import its own modules by relative path, not through the package name`);
        continue;
      }
      if (!ref.target) continue;
      if (!ref.target.startsWith(SRC + path.sep)) {
        out.push(`${where}: reaches outside src/`);
        continue;
      }
      const to = layerOf(ref.target);
      if (to === from) continue;
      if (from === "index") {
        // Types of the stores and services are part of the public API; their code is not loaded by it.
        const typeExport = ref.typeOnly && (to === "store" || to === "engine");
        const rule = "src/index.ts (the authoring API) may import only core/ (and types of store/, engine/)";
        if (to !== "core" && !typeExport) out.push(`${where}: ${rule}, not ${to}/`);
        continue;
      }
      if (to === "index") {
        if (from !== "lib" && from !== "testing" && RANK[from] !== undefined && RANK[from] < RANK.lib)
          out.push(`${where}: ${from}/ must not import the public entry point`);
        continue;
      }
      if (RANK[from] === undefined) {
        out.push(`${where}: ${from} is not a known layer (core, store, engine, lib, testing, serve, daemon, api, cli)`);
        continue;
      }
      if (RANK[to] === undefined) {
        out.push(`${where}: ${to} is not a known layer`);
        continue;
      }
      if (from === "testing") {
        if (!["core", "store", "engine", "lib"].includes(to))
          out.push(`${where}: testing/ may import only core, store, engine and lib, not ${to}/`);
        continue;
      }
      if (RANK[to] > RANK[from]) out.push(`${where}: ${from}/ must not import the higher layer ${to}/`);
    }
  }
  return out;
}

/**
 * The ML library is built on the public API only, as a user's steps would be: it imports
 * src/index.ts (what `trainyard` exports) and its own modules, and reaches stores and the registry
 * through `ctx.services()`. Not core/, engine/ or store/ directly, type imports included.
 */
function libRule(ref: ImportRef): string | undefined {
  if (!ref.target || layerOf(ref.from) !== "lib") return undefined;
  const to = layerOf(ref.target);
  if (to === "lib" || to === "index") return undefined;
  const how = "import it from src/index.ts (add it there, with TSDoc, if the public API lacks it)";
  return `${path.relative(SRC, ref.from)}:${ref.line} imports "${ref.specifier}": lib/ must not import ${to}/; ${how}`;
}

function libViolations(): string[] {
  const files = sourceFiles(path.join(SRC, "lib"));
  return files.flatMap((f) =>
    importsOf(f)
      .map(libRule)
      .filter((v): v is string => v !== undefined),
  );
}

/** Cycles among files over runtime imports (type-only imports are erased and cannot form one). */
function cycles(root = SRC): string[][] {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    graph.set(
      file,
      importsOf(file)
        .filter((r) => r.target && !r.typeOnly && r.target.startsWith(root) && fs.existsSync(r.target))
        .map((r) => r.target!),
    );
  }
  const found: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, "visiting");
    stack.push(f);
    for (const next of graph.get(f) ?? []) {
      if (state.get(next) === "visiting")
        found.push([...stack.slice(stack.indexOf(next)), next].map((p) => path.relative(root, p)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return found;
}

describe("architecture", () => {
  it("finds the imports of a file (self-check of the parser)", () => {
    const refs = importsOf(path.join(SRC, "engine", "trainyard.ts"));
    const specs = refs.map((r) => r.specifier);
    expect(specs).toContain("../core/errors.js");
    expect(specs).toContain("./executor.js");
    expect(refs.find((r) => r.specifier === "./executor.js")!.target).toBe(path.join(SRC, "engine", "executor.ts"));
    const typeOnly = importsOf(path.join(SRC, "engine", "planner.ts")).find((r) => r.specifier === "./trainyard.js");
    expect(typeOnly?.typeOnly).toBe(true);
    const dynamic = importsOf(path.join(SRC, "cli", "definitions", "running.ts")).map((r) => r.specifier);
    expect(dynamic).toContain("../commands/run.js");
    expect(sourceFiles(SRC).length).toBeGreaterThan(30);
  });

  it("keeps lower layers from importing higher ones (core <- store <- engine <- lib <- serve/daemon/api/cli)", () => {
    expect(violations()).toEqual([]);
  });

  it("detects a cycle, and ignores type-only imports (self-check of the cycle search)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-arch-"));
    try {
      fs.writeFileSync(path.join(dir, "a.ts"), `import { b } from "./b.js";\nexport const a = () => b;\n`);
      fs.writeFileSync(path.join(dir, "b.ts"), `import { c } from "./c.js";\nexport const b = c;\n`);
      fs.writeFileSync(path.join(dir, "c.ts"), `import type { a } from "./a.js";\nexport const c = 1;\n`);
      expect(cycles(dir)).toEqual([]);
      fs.writeFileSync(path.join(dir, "c.ts"), `import { a } from "./a.js";\nexport const c = () => a;\n`);
      expect(cycles(dir)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets only the CLI and the API import the daemon, and keeps the daemon off the CLI, server and API", () => {
    const wrong: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = layerOf(file);
      for (const ref of importsOf(file)) {
        const to = ref.target ? layerOf(ref.target) : "";
        const where = `${path.relative(SRC, file)}:${ref.line} imports "${ref.specifier}"`;
        if (to === "daemon" && !["daemon", "cli", "api"].includes(from))
          wrong.push(`${where}: only cli/ and api/ may import daemon/`);
        if (from === "daemon" && ["cli", "serve", "api"].includes(to))
          wrong.push(`${where}: daemon/ must not import ${to}/`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("keeps the ML library on the public API: lib/ imports lib/ and src/index.ts only", () => {
    expect(libViolations()).toEqual([]);
  });

  it("reports a library file that reaches into the engine or a store (self-check of the lib rule)", () => {
    const dir = path.join(SRC, "lib", "registry");
    const fake = (specifier: string, typeOnly: boolean) => {
      const target = path.resolve(dir, specifier).replace(/\.js$/, ".ts");
      return { from: path.join(dir, "x.ts"), specifier, typeOnly, line: 1, target };
    };
    expect(libRule(fake("../../engine/trainyard.js", true))).toContain("lib/ must not import engine/");
    expect(libRule(fake("../../store/registry-store.js", false))).toContain("lib/ must not import store/");
    expect(libRule(fake("../../index.js", true))).toBeUndefined();
    expect(libRule(fake("../../core/errors.js", false))).toContain("lib/ must not import core/");
    expect(libRule(fake("../../../src/store/digest.js", true))).toContain("lib/ must not import store/");
    expect(libRule(fake("../data/duck.js", false))).toBeUndefined();
  });

  it("has no import cycles between files", () => {
    expect(cycles()).toEqual([]);
  });

  it("keeps core free of I/O and of the stores", () => {
    const io: string[] = [];
    for (const file of sourceFiles(path.join(SRC, "core"))) {
      for (const ref of importsOf(file)) {
        if (
          /^(node:)?(fs|fs\/promises|child_process|net|http|https|worker_threads)$/.test(ref.specifier) ||
          ["better-sqlite3", "@duckdb/node-api"].includes(ref.specifier)
        ) {
          io.push(`${path.relative(SRC, file)}:${ref.line} imports ${ref.specifier}`);
        }
      }
    }
    expect(io).toEqual([]);
  });
});
