import * as crypto from "node:crypto";

/** Canonical JSON: object keys sorted, no whitespace, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return canon(value) ?? "null";
}

// Written out rather than sort-then-stringify: cache keys are computed for every step of every
// run, and building a sorted copy of each value first doubled the cost of a fully cached run.
function canon(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value));
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return JSON.stringify(value.toString());
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map((v) => canon(v) ?? "null").join(",")}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = canon(obj[key]);
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
  }
  return `{${parts.join(",")}}`;
}

// One-shot hashing (Node 20.12+) skips building a Hash object per call.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }).hash;

export function sha256(data: string | Uint8Array): string {
  return oneShot ? oneShot("sha256", data, "hex") : crypto.createHash("sha256").update(data).digest("hex");
}

export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** A digest for messages: 12 hex digits, after its scheme unless that is plain sha256. */
export function shortDigest(digest: string): string {
  const colon = digest.lastIndexOf(":");
  if (colon < 0) return digest.slice(0, 12);
  const hex = digest.slice(colon + 1, colon + 13);
  return digest.startsWith("sha256:") ? hex : `${digest.slice(0, colon)}:${hex}`;
}
