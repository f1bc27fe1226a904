/**
 * Self-describing content digests: `<scheme>:<64 lowercase hex>`. The scheme says what was hashed
 * and how (docs/digests.md spells each one out), so any reader can verify an object without
 * guessing from its size or shape. Pure text functions: hashing and verification live in
 * src/store/digest.ts.
 */
import { TrainyardError } from "./errors.js";
import { sha256 } from "./hash.js";

/** sha256 of the bytes, exactly what `sha256sum` prints. */
export const SHA256 = "sha256";
/** Files of 64 MiB and more: sha256 over a header and the sha256 of each 8 MiB block. */
export const SHA256_BLOCKS = "sha256-blocks-8m";
/** Directories: sha256 over a manifest of relative paths, modes and file digests. */
export const SHA256_TREE = "sha256-tree";

export const DIGEST_SCHEMES = [SHA256, SHA256_BLOCKS, SHA256_TREE] as const;
export type DigestScheme = (typeof DIGEST_SCHEMES)[number];

/** One digest in its parts. */
export interface ParsedDigest {
  scheme: DigestScheme;
  /** 64 lowercase hex digits. */
  hex: string;
}

/** Source text of a regular expression that matches one digest, for validation in other layers and the UI. */
export const DIGEST_PATTERN_SOURCE = "(?:sha256|sha256-blocks-8m|sha256-tree):[0-9a-f]{64}";
/** Matches a whole string that is one digest. */
export const DIGEST_PATTERN = new RegExp(`^${DIGEST_PATTERN_SOURCE}$`);
const BARE_HEX = /^[0-9a-f]{64}$/;

/** Whether `text` is a digest in the `<scheme>:<hex>` form. */
export function isDigest(text: unknown): text is string {
  return typeof text === "string" && DIGEST_PATTERN.test(text);
}

/** Whether `text` is a digest written before schemes were named: 64 hex digits alone. */
export function isLegacyDigest(text: unknown): text is string {
  return typeof text === "string" && BARE_HEX.test(text);
}

/**
 * Splits a digest into scheme and hex.
 * @throws TrainyardError DIGEST_INVALID for anything else, bare legacy hex included (its scheme
 * cannot be told from the text: see docs/digests.md, "Homes written before schemes").
 */
export function parseDigest(text: string, where: { file?: string; step?: string; field?: string } = {}): ParsedDigest {
  if (isDigest(text)) {
    const colon = text.lastIndexOf(":");
    return { scheme: text.slice(0, colon) as DigestScheme, hex: text.slice(colon + 1) };
  }
  const shown = String(text).slice(0, 80);
  const legacy = isLegacyDigest(text);
  throw new TrainyardError(
    "DIGEST_INVALID",
    legacy
      ? `digest ${shown} has no scheme: it was written before digests named their scheme`
      : `"${shown}" is not a digest: expected <scheme>:<64 hex digits> with a scheme of ${DIGEST_SCHEMES.join(", ")}`,
    {
      ...where,
      digest: shown,
      hint: legacy
        ? "open the home with this version of trainyard once: its metadata migration names the scheme of every digest"
        : undefined,
    },
  );
}

/** Joins a scheme and 64 hex digits into a digest; the hex is checked and lower-cased. */
export function formatDigest(scheme: DigestScheme, hex: string): string {
  const lower = hex.toLowerCase();
  if (!(DIGEST_SCHEMES as readonly string[]).includes(scheme) || !BARE_HEX.test(lower)) {
    throw new TrainyardError("DIGEST_INVALID", `cannot form a digest from scheme "${scheme}" and hex "${hex}"`, {
      hint: `use a scheme of ${DIGEST_SCHEMES.join(", ")} and 64 hex digits`,
    });
  }
  return `${scheme}:${lower}`;
}

/** The hex part of a digest, e.g. for an object's file name. */
export function digestHex(digest: string): string {
  return parseDigest(digest).hex;
}

/**
 * LIKE patterns for looking a digest up by the start of its text: `sha256:ab12` as written, or
 * bare hex (what messages show, or a digest written before schemes) under every scheme. Undefined for text that is
 * neither.
 */
export function digestPrefixPatterns(text: string): string[] | undefined {
  if (/^[0-9a-f]{4,64}$/.test(text)) return DIGEST_SCHEMES.map((scheme) => `${scheme}:${text}%`);
  const m = /^([a-z0-9-]+):([0-9a-f]{0,63})$/.exec(text);
  if (!m || !(DIGEST_SCHEMES as readonly string[]).includes(m[1])) return undefined;
  return [`${text}%`];
}

/** The `sha256:` digest of bytes or of a string's UTF-8 bytes. */
export function sha256Digest(data: string | Uint8Array): string {
  return `${SHA256}:${sha256(data)}`;
}
