/**
 * Placeholders of a command (`{params.name}`, `{inputs.x}`, `{out}`, `{workdir}`). In argv form a
 * value is one argument as it is. In a shell string a value never becomes shell code: the
 * placeholder turns into a reference to an environment variable holding the value, written for
 * the quoting context it sits in (bare, inside '...', "...", $(...), `...`, a here-document), so
 * it expands to exactly the value, as one word. Even a misjudged context can only expand a
 * variable, which the shell never evaluates as code.
 */
import { TrainyardError } from "../../core/errors.js";

const PLACEHOLDER = /\{(out|workdir|inputs\.[A-Za-z0-9_-]+|params\.[A-Za-z0-9_-]+)\}/y;

/** The text of a placeholder's value, or undefined to leave the placeholder as written. */
export type PlaceholderValue = (key: string) => string | undefined;

/** Argv form, and text for messages: values pasted as they are. */
export function expandRaw(text: string, value: PlaceholderValue): string {
  if (!text.includes("{")) return text;
  return text.replace(
    /\{(out|workdir|inputs\.[A-Za-z0-9_-]+|params\.[A-Za-z0-9_-]+)\}/g,
    (m, key: string) => value(key) ?? m,
  );
}

type Frame = { kind: "plain" | "sub" | "backtick" | "double" | "arith"; depth: number };
interface HereDoc {
  delimiter: string;
  quoted: boolean;
  stripTabs: boolean;
}

/**
 * The shell text with each placeholder replaced by a variable reference, and the variables
 * (`TRAINYARD_ARG_<n>`, one per distinct placeholder) to put in the command's environment.
 */
export function expandForShell(
  text: string,
  value: PlaceholderValue,
  step: string,
): { text: string; env: Record<string, string> } {
  const env: Record<string, string> = {};
  if (!text.includes("{")) return { text, env };
  const names = new Map<string, string>();
  const variable = (key: string, v: string) => {
    let name = names.get(key);
    if (!name) names.set(key, (name = `TRAINYARD_ARG_${names.size + 1}`));
    env[name] = v;
    return name;
  };
  const stack: Frame[] = [{ kind: "plain", depth: 0 }];
  let single = false;
  let pending: HereDoc[] = [];
  let out = "";
  let i = 0;
  const n = text.length;
  const wordStart = () => i === 0 || /[\s;&|()]/.test(text[i - 1]);
  while (i < n) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === "{") {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(text);
      const v = m ? value(m[1]) : undefined;
      if (m && v !== undefined) {
        const name = variable(m[1], v);
        out += single
          ? `'"\${${name}}"'`
          : top.kind === "double" || top.kind === "arith"
            ? `\${${name}}`
            : `"\${${name}}"`;
        i += m[0].length;
        continue;
      }
    }
    if (single) {
      if (c === "'") single = false;
      out += c;
      i++;
      continue;
    }
    if (c === "\\" && text[i + 1] !== "{") {
      out += text.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (top.kind === "double") {
      if (c === '"') stack.pop();
      else if (c === "`") stack.push({ kind: "backtick", depth: 0 });
      else if (c === "$" && text[i + 1] === "(") {
        const arith = text[i + 2] === "(";
        stack.push({ kind: arith ? "arith" : "sub", depth: 0 });
        out += arith ? "$((" : "$(";
        i += arith ? 3 : 2;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    if (top.kind === "arith") {
      if (c === "(") top.depth++;
      else if (c === ")" && top.depth > 0) top.depth--;
      else if (c === ")" && text[i + 1] === ")") {
        stack.pop();
        out += "))";
        i += 2;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    // plain, $( ... ) or ` ... `: quoting starts afresh
    if (c === "'") single = true;
    else if (c === '"') stack.push({ kind: "double", depth: 0 });
    else if (c === "`") {
      if (top.kind === "backtick") stack.pop();
      else stack.push({ kind: "backtick", depth: 0 });
    } else if (c === "$" && text[i + 1] === "(") {
      const arith = text[i + 2] === "(";
      stack.push({ kind: arith ? "arith" : "sub", depth: 0 });
      out += arith ? "$((" : "$(";
      i += arith ? 3 : 2;
      continue;
    } else if (c === "(" && top.kind === "sub") top.depth++;
    else if (c === ")" && top.kind === "sub") {
      if (top.depth > 0) top.depth--;
      else stack.pop();
    } else if (c === "#" && wordStart()) {
      // A comment: its quotes mean nothing, and it ends at the newline.
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? n : end;
      out += text.slice(i, stop);
      i = stop;
      continue;
    } else if (c === "<" && text[i + 1] === "<" && text[i + 2] !== "<") {
      const doc = /^<<(-?)[ \t]*(?:'([^'\n]*)'|"([^"\n]*)"|\\?([^\s;&|<>()]+))/.exec(text.slice(i));
      if (doc) {
        const quoted = doc[2] !== undefined || doc[3] !== undefined || doc[0].includes("\\");
        pending.push({
          delimiter: doc[2] ?? doc[3] ?? doc[4].replace(/["'\\]/g, ""),
          quoted,
          stripTabs: doc[1] === "-",
        });
        out += doc[0];
        i += doc[0].length;
        continue;
      }
    } else if (c === "\n" && pending.length) {
      out += c;
      i++;
      for (const doc of pending) i = copyHereDoc(doc);
      pending = [];
      continue;
    }
    out += c;
    i++;
  }
  return { text: out, env };

  /** Copies a here-document's body from `i`, substituting its placeholders; returns where it ended. */
  function copyHereDoc(doc: HereDoc): number {
    while (i < n) {
      const eol = text.indexOf("\n", i);
      const end = eol < 0 ? n : eol + 1;
      const line = text.slice(i, eol < 0 ? n : eol);
      if ((doc.stripTabs ? line.replace(/^\t+/, "") : line) === doc.delimiter) {
        out += text.slice(i, end);
        return end;
      }
      out += line.replace(/\{(out|workdir|inputs\.[A-Za-z0-9_-]+|params\.[A-Za-z0-9_-]+)\}/g, (m, key: string) => {
        const v = value(key);
        if (v === undefined) return m;
        if (!doc.quoted) return `\${${variable(key, v)}}`;
        // A quoted here-document expands nothing: the value goes in as text, unless it could end it.
        if (v.includes("\n")) {
          throw new TrainyardError(
            "PIPELINE_INVALID",
            `step "${step}": {${key}} in the here-document <<'${doc.delimiter}' holds a newline`,
            {
              step,
              hint: `use an unquoted delimiter (<<${doc.delimiter}), or read the value from $TRAINYARD_PARAMS_FILE`,
            },
          );
        }
        return v;
      });
      out += text.slice(i + line.length, end);
      i = end;
    }
    return i;
  }
}
