/**
 * Digests of stored content and their verification. A digest names its scheme
 * (`sha256:`, `sha256-blocks-8m:`, `sha256-tree:`; docs/digests.md), so bytes fetched from any
 * store, local or remote, are checked against exactly what their writer hashed. Anything that
 * reads an object from another machine verifies it here before use.
 */
import { createHash, type Hash } from "node:crypto";
import { stat } from "node:fs/promises";
import { Transform, type TransformCallback } from "node:stream";
import {
  type DigestScheme,
  formatDigest,
  parseDigest,
  SHA256,
  SHA256_BLOCKS,
  SHA256_TREE,
} from "../core/digest-format.js";
import { TrainyardError } from "../core/errors.js";
import { BLOCK } from "./block-hash.js";
import { hashFileAs, hashTree } from "./file-hash.js";

export {
  DIGEST_PATTERN,
  DIGEST_PATTERN_SOURCE,
  DIGEST_SCHEMES,
  type DigestScheme,
  digestHex,
  formatDigest,
  isDigest,
  isLegacyDigest,
  type ParsedDigest,
  parseDigest,
  SHA256,
  SHA256_BLOCKS,
  SHA256_TREE,
} from "../core/digest-format.js";
export { BLOCKED_MIN, hashFile, hashTree } from "./file-hash.js";

/** Where the bytes came from, for the error a mismatch raises. */
export interface VerifySource {
  /** A path or URL naming the object, e.g. `s3://bucket/objects/sha256/ab/ab12...`. */
  file?: string;
  step?: string;
  runId?: string;
}

/**
 * Incremental digest of a byte stream in a given scheme (`sha256` or `sha256-blocks-8m`; a tree
 * is not a byte stream). Feed chunks of any size with `update`, then `digest()` once.
 */
export class StreamingDigest {
  private readonly scheme: DigestScheme;
  private readonly whole?: Hash;
  private block?: Hash;
  private blockBytes = 0;
  private readonly blockDigests: Buffer[] = [];
  private total = 0;

  constructor(scheme: DigestScheme) {
    if (scheme === SHA256_TREE) {
      throw new TrainyardError("DIGEST_INVALID", "a sha256-tree digest covers a directory, not a byte stream", {
        hint: "verify a directory with verifyFile(path, digest) once it is on disk",
      });
    }
    this.scheme = scheme;
    if (scheme === SHA256) this.whole = createHash("sha256");
  }

  update(chunk: Uint8Array): this {
    this.total += chunk.byteLength;
    if (this.whole) {
      this.whole.update(chunk);
      return this;
    }
    let offset = 0;
    while (offset < chunk.byteLength) {
      const take = Math.min(BLOCK - this.blockBytes, chunk.byteLength - offset);
      this.block ??= createHash("sha256");
      this.block.update(chunk.subarray(offset, offset + take));
      this.blockBytes += take;
      offset += take;
      if (this.blockBytes === BLOCK) this.endBlock();
    }
    return this;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.total;
  }

  /** The digest of everything fed, in `<scheme>:<hex>` form. */
  digest(): string {
    if (this.whole) return formatDigest(this.scheme, this.whole.digest("hex"));
    // A file ends at its first short block; an empty file is one empty block.
    if (this.blockBytes > 0 || this.blockDigests.length === 0) this.endBlock();
    const outer = createHash("sha256").update(`trainyard-blocks sha256 ${BLOCK} ${this.total}\n`);
    for (const d of this.blockDigests) outer.update(d);
    return formatDigest(SHA256_BLOCKS, outer.digest("hex"));
  }

  private endBlock(): void {
    this.blockDigests.push((this.block ?? createHash("sha256")).digest());
    this.block = undefined;
    this.blockBytes = 0;
  }
}

/** The digest of `bytes` in `scheme` (default plain sha256). */
export function digestOfBytes(bytes: Uint8Array, scheme: DigestScheme = SHA256): string {
  return new StreamingDigest(scheme).update(bytes).digest();
}

/**
 * Throws ARTIFACT_CORRUPT unless `bytes` hash to `digest` in the digest's own scheme (and
 * DIGEST_INVALID when `digest` is not a digest).
 */
export function verifyBytes(bytes: Uint8Array, digest: string, source: VerifySource = {}): void {
  const { scheme } = parseDigest(digest, source);
  const actual = digestOfBytes(bytes, scheme);
  if (actual !== digest) throw mismatch(digest, actual, bytes.byteLength, source);
}

/**
 * Throws ARTIFACT_CORRUPT unless the file or directory at `path` hashes to `digest` in the
 * digest's scheme; returns its size. A missing path is ARTIFACT_MISSING.
 */
export async function verifyFile(path: string, digest: string, source: VerifySource = {}): Promise<number> {
  const { scheme } = parseDigest(digest, { file: source.file ?? path });
  const st = await stat(path).catch(() => undefined);
  if (!st) {
    throw new TrainyardError("ARTIFACT_MISSING", `object ${digest} is missing: nothing at ${path}`, {
      digest,
      file: source.file ?? path,
      step: source.step,
      runId: source.runId,
    });
  }
  if (st.isDirectory() !== (scheme === SHA256_TREE)) {
    const what = st.isDirectory() ? "a directory" : "a file";
    throw mismatch(digest, `(${what}, not what a ${scheme} digest names)`, st.size, { file: path, ...source });
  }
  const actual = scheme === SHA256_TREE ? await hashTree(path) : await hashFileAs(path, scheme);
  if (actual.digest !== digest) throw mismatch(digest, actual.digest, actual.size, { file: path, ...source });
  return actual.size;
}

/**
 * A pass-through stream that hashes what flows through it and fails at its end with
 * ARTIFACT_CORRUPT when the bytes do not match `digest` (or `size`, when given), so a download
 * piped through it into a temp file is only renamed into place when it verified.
 */
export class VerifyingStream extends Transform {
  private readonly hasher: StreamingDigest;

  constructor(
    private readonly expected: string,
    private readonly opts: VerifySource & { size?: number } = {},
  ) {
    super();
    this.hasher = new StreamingDigest(parseDigest(expected, opts).scheme);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hasher.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const actual = this.hasher.digest();
    if (actual !== this.expected) return done(mismatch(this.expected, actual, this.hasher.size, this.opts));
    if (this.opts.size !== undefined && this.opts.size !== this.hasher.size) {
      return done(
        mismatch(this.expected, `${this.hasher.size} bytes where ${this.opts.size} were stored`, 0, this.opts),
      );
    }
    done();
  }
}

/** Throws ARTIFACT_CORRUPT unless `actual`, the digest of `size` bytes just read, is `expected`. */
export function checkDigest(expected: string, actual: string, size: number, source: VerifySource = {}): void {
  if (actual !== expected) throw mismatch(expected, actual, size, source);
}

function mismatch(expected: string, actual: string, size: number, source: VerifySource): TrainyardError {
  const where = source.file ? ` at ${source.file}` : "";
  return new TrainyardError(
    "ARTIFACT_CORRUPT",
    `object ${expected}${where} does not match its digest: its ${size} bytes hash to ${actual}`,
    { digest: expected, actual, file: source.file, step: source.step, runId: source.runId },
  );
}
