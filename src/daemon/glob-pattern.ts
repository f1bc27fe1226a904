/**
 * Glob patterns of file sensors, matched against paths relative to the landing folder with "/"
 * separators: `*` and `?` stay within one folder, `**` spans folders, `{a,b}` and `[abc]` as in a
 * shell. Names starting with "." never match a wildcard, so a writer's hidden temporary file
 * (written, then renamed into place) is not seen before it is complete.
 */

export function globToRegExp(glob: string): RegExp {
  let out = "^";
  let i = 0;
  let braces = 0;
  const atSegmentStart = () => i === 0 || glob[i - 1] === "/";
  while (i < glob.length) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*" && atSegmentStart() && (glob[i + 2] === "/" || i + 2 === glob.length)) {
      // "**/" matches zero or more visible folders; a trailing "**" matches anything visible below.
      out += glob[i + 2] === "/" ? "(?:(?!\\.)[^/]*/)*" : "(?:(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*)?";
      i += glob[i + 2] === "/" ? 3 : 2;
      continue;
    }
    if (c === "*") {
      out += (atSegmentStart() ? "(?!\\.)" : "") + "[^/]*";
    } else if (c === "?") {
      out += (atSegmentStart() ? "(?!\\.)" : "") + "[^/]";
    } else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) out += "\\[";
      else {
        const body = glob
          .slice(i + 1, close)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\");
        out += `[${body}]`;
        i = close;
      }
    } else if (c === "{") {
      braces++;
      out += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      out += ")";
    } else if (c === "," && braces > 0) {
      out += "|";
    } else {
      out += c.replace(/[.+^$()|\\\]{}]/g, "\\$&");
    }
    i++;
  }
  return new RegExp(`${out}$`);
}

/** The folder part of a glob before its first wildcard, so a listing need not walk the rest. */
export function globBase(glob: string): string {
  const parts = glob.split("/");
  const literal: string[] = [];
  for (const p of parts.slice(0, -1)) {
    if (/[*?[{]/.test(p)) break;
    literal.push(p);
  }
  return literal.join("/");
}
