/**
 * The launch form's model: fields from the params' JSON Schema, values as typed text, and the
 * same checks the server's zod schema makes (types, required, bounds, enums, patterns), so a
 * mistake is shown at the field before anything is sent.
 */
import type { JsonSchema } from "../api/types.js";

export interface Field {
  name: string;
  schema: JsonSchema;
  kind: "number" | "integer" | "boolean" | "enum" | "string" | "json";
  required: boolean;
}

export function fieldsOf(schema: JsonSchema): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const s = unwrap(raw);
    return { name, schema: s, kind: kindOf(s), required: required.has(name) && s.default === undefined };
  });
}

/** `optional()`/`nullable()` arrive as anyOf with a null branch; the form edits the other branch. */
function unwrap(s: JsonSchema): JsonSchema {
  const branches = s.anyOf ?? s.oneOf;
  if (!branches) return s;
  const real = branches.filter((b) => b.type !== "null");
  return real.length === 1
    ? { ...real[0], default: s.default ?? real[0].default, description: s.description ?? real[0].description }
    : s;
}

function kindOf(s: JsonSchema): Field["kind"] {
  if (s.enum) return "enum";
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  if (t === "number" || t === "integer" || t === "boolean" || t === "string") return t;
  return "json";
}

/** A value as the form's text. */
export function toText(f: Field, v: unknown): string {
  if (v === undefined || v === null) return "";
  if (f.kind === "json") return JSON.stringify(v);
  return String(v);
}

/** Parses a field's text; returns the value or the message to show at the field. */
export function parseField(f: Field, text: string): { value?: unknown; error?: string } {
  const s = f.schema;
  if (text.trim() === "") return f.required ? { error: "required" } : {};
  switch (f.kind) {
    case "number":
    case "integer": {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: "must be a number" };
      if (f.kind === "integer" && !Number.isInteger(n)) return { error: "must be a whole number" };
      if (s.minimum !== undefined && n < s.minimum) return { error: `must be at least ${s.minimum}` };
      if (s.maximum !== undefined && n > s.maximum) return { error: `must be at most ${s.maximum}` };
      if (s.exclusiveMinimum !== undefined && n <= s.exclusiveMinimum)
        return { error: `must be more than ${s.exclusiveMinimum}` };
      if (s.exclusiveMaximum !== undefined && n >= s.exclusiveMaximum)
        return { error: `must be less than ${s.exclusiveMaximum}` };
      return { value: n };
    }
    case "boolean":
      return { value: text === "true" };
    case "enum": {
      const hit = s.enum!.find((o) => String(o) === text);
      return hit === undefined ? { error: `must be one of ${s.enum!.join(", ")}` } : { value: hit };
    }
    case "string":
      if (s.minLength !== undefined && text.length < s.minLength)
        return { error: `at least ${s.minLength} characters` };
      if (s.maxLength !== undefined && text.length > s.maxLength) return { error: `at most ${s.maxLength} characters` };
      if (s.pattern && !new RegExp(s.pattern, "u").test(text)) return { error: `must match ${s.pattern}` };
      return { value: text };
    default: {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return { error: "must be JSON" };
      }
      const wrong = checkJson(value, s, "");
      return wrong ? { error: wrong } : { value };
    }
  }
}

/** The first place a JSON value breaks its schema (types, enums, bounds, items, properties), if any. */
function checkJson(v: unknown, s: JsonSchema, at: string): string | undefined {
  const where = at || "value";
  if (s.anyOf ?? s.oneOf) {
    const branches = (s.anyOf ?? s.oneOf)!;
    return branches.some((b) => !checkJson(v, b, at)) ? undefined : `${where} matches none of the allowed shapes`;
  }
  if (s.enum && !s.enum.some((o) => JSON.stringify(o) === JSON.stringify(v)))
    return `${where} must be one of ${s.enum.join(", ")}`;
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  const typeOf = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
  const fits = (t: string) =>
    t === typeOf || (t === "integer" && Number.isInteger(v)) || (t === "number" && typeOf === "number");
  if (types.length && !types.some(fits)) return `${where} must be ${types.join(" or ")}`;
  if (typeof v === "number") {
    if (s.minimum !== undefined && v < s.minimum) return `${where} must be at least ${s.minimum}`;
    if (s.maximum !== undefined && v > s.maximum) return `${where} must be at most ${s.maximum}`;
  }
  if (Array.isArray(v) && s.items) {
    for (let i = 0; i < v.length; i++) {
      const wrong = checkJson(v[i], s.items, `${at}[${i}]`);
      if (wrong) return wrong;
    }
  }
  if (typeOf === "object" && s.properties) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) return `${at ? at + "." : ""}${r} is required`;
    for (const [k, sub] of Object.entries(s.properties)) {
      if (k in o) {
        const wrong = checkJson(o[k], sub, at ? `${at}.${k}` : k);
        if (wrong) return wrong;
      }
    }
  }
  return undefined;
}
