/** `name`, `name@3` and `name@production`: how people and pipelines name a model in the registry. */
import { TrainyardError } from "./errors.js";

/** A parsed `name`, `name@3` or `name@production`. */
export interface ModelRef {
  model: string;
  /** A version number, an alias name, or absent for "the model as a whole". */
  ref?: number | string;
}

export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf("@");
  if (at === 0 || at === text.length - 1) {
    throw new TrainyardError("USAGE", `"${text}" is not a model reference`, {
      hint: "write <name>, <name>@<version> or <name>@<alias>, e.g. flights@3 or flights@production",
    });
  }
  if (at < 0) return { model: text };
  const model = text.slice(0, at);
  const ref = text.slice(at + 1);
  return { model, ref: /^\d+$/.test(ref) ? Number(ref) : ref };
}

export function formatModelRef(r: ModelRef): string {
  return r.ref === undefined ? r.model : `${r.model}@${r.ref}`;
}
