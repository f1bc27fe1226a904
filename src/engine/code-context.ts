/**
 * What a step's code fingerprint covers beyond its own function text. A step function usually
 * calls helpers and reads constants; editing those must rerun it. From the pipeline module's
 * source we take every top-level declaration the function mentions (transitively), and every
 * other local file the module imports counts through one digest (a change there reruns the
 * module's steps: conservative, never stale). `version` remains the manual override.
 */
import { readFileSync } from "node:fs";
import { sha256 } from "../core/hash.js";

export interface CodeContext {
  /** Top-level declarations of the pipeline module, by name, with their source text. */
  declarations: Map<string, string>;
  /** Digest over the content of the local files the module imports. */
  dependencies: string;
}

/** Modifiers, then the declaring keyword, then the declared name (group 1). */
const DECLARATION = new RegExp(
  String.raw`^(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:async\s+)?` +
    String.raw`(?:function\*?|const|let|var|class|enum)\s+([A-Za-z_$][\w$]*)`,
);
/** The library's step builders, called without a pipeline receiver: `const v = validate(p, ...)`. */
const LIBRARY_STEPS = [
  "validate",
  "profile",
  "drift",
  "features",
  "train",
  "search",
  "evaluate",
  "gates",
  "register",
  "deploy",
  "currentModel",
  "ingestStep",
  "splitStep",
];
/** Step definitions are keyed on their own code; mentioning a step's ref must not pull it in. */
const STEP_DEFINITION = new RegExp(
  String.raw`^(?:export\s+)?const\s+[\w$]+\s*=\s*` +
    String.raw`(?:[\w$]+\.(?:step|map|command)\s*[(<]|pipeline\s*[(<]|(?:${LIBRARY_STEPS.join("|")})\s*\()`,
);
const IDENTIFIER = /[A-Za-z_$][\w$]*/g;

export function buildCodeContext(modulePath: string, sourceFiles: readonly string[]): CodeContext {
  const declarations = topLevelDeclarations(readFileSync(modulePath, "utf8"));
  const deps = sourceFiles
    .filter((f) => f !== modulePath)
    .sort()
    .map((f) => `${f}\t${sha256(readFileSync(f))}`)
    .join("\n");
  return { declarations, dependencies: sha256(deps) };
}

/** Declarations starting at column 0; each runs until the next top-level line. */
export function topLevelDeclarations(source: string): Map<string, string> {
  const lines = source.split("\n");
  const out = new Map<string, string>();
  let name: string | undefined;
  let start = 0;
  const close = (end: number) => {
    if (name !== undefined) {
      const text = lines.slice(start, end).join("\n");
      if (!STEP_DEFINITION.test(text)) out.set(name, text);
    }
    name = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line || /^[\s})\]]/.test(line)) continue; // indented, blank or closing: still inside
    close(i);
    const m = DECLARATION.exec(line);
    if (m) {
      name = m[1];
      start = i;
    }
  }
  close(lines.length);
  return out;
}

/** The function text plus every module declaration it mentions, transitively, in a stable order. */
export function referencedSource(fnText: string, ctx: CodeContext): string {
  const seen = new Set<string>();
  const queue = [fnText];
  while (queue.length) {
    const text = queue.pop()!;
    for (const id of text.match(IDENTIFIER) ?? []) {
      if (seen.has(id)) continue;
      const decl = ctx.declarations.get(id);
      if (decl === undefined) continue;
      seen.add(id);
      queue.push(decl);
    }
  }
  return [...seen]
    .sort()
    .map((id) => ctx.declarations.get(id))
    .join("\n");
}
