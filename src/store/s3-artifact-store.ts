/**
 * Artifacts in S3-compatible object storage: `<prefix>objects/<digest>`, one object per artifact
 * (a directory as an archive, object-archive.ts). Reads go through a LocalObjectCache that
 * verifies every object against its digest before anything uses it. Content addressing makes
 * every put idempotent, so no conditional write is needed: two writers of one digest write the
 * same bytes, and whichever lands last is as good as the first.
 */
import { parseByteSize } from "../core/byte-size.js";
import { createReadStream } from "node:fs";
import { copyFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { TrainyardError } from "../core/errors.js";
import { isDigest, parseDigest, sha256Digest } from "../core/digest-format.js";
import { shortDigest } from "../core/hash.js";
import type { ArtifactStore, LogCopies, ObjectStat, PutFileOptions, StoredObject } from "./artifact-store.js";
import { hashFileAs, hashFileNow, hashTree } from "./file-hash.js";
import { copyHashed } from "./hashed-copy.js";
import { LocalObjectCache } from "./local-object-cache.js";
import { archiveSize, listTree, packTree } from "./object-archive.js";
import { PendingJournal, scanPendingJournals } from "./pending-journal.js";
import { OpenPartUploads } from "./open-part-uploads.js";
import { downloadObject, KIND_METADATA as KIND, SIZE_METADATA as CONTENT_SIZE } from "./s3-object-download.js";
import { uploadFileInParts } from "./s3-part-upload.js";
import { S3LogCopies } from "./s3-log-copies.js";
import { S3RequestCounter } from "./s3-request-counter.js";
import { isNotFound } from "./s3-retry.js";

export interface S3StoreOptions {
  /** `s3://bucket/prefix`. */
  url: string;
  /** An S3-compatible endpoint (http://127.0.0.1:9000); AWS's own when unset. */
  endpoint?: string;
  /** @default $AWS_REGION, else "us-east-1" */
  region?: string;
  /** Bucket in the path rather than the host name, as most S3-compatible servers need. @default with an endpoint */
  forcePathStyle?: boolean;
  /** This machine's cache of verified objects (one per worker home). */
  cacheDir: string;
  /**
   * Bytes that cache may fill before its least recently used objects are removed (local-object-cache.ts):
   * a number, or a size such as "20GiB". @default $TRAINYARD_OBJECT_CACHE_MAX, else a quarter of its file system
   */
  cacheMax?: number | string;
  /** Explicit credentials; the SDK's usual chain (environment, profile, instance role) when unset. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Objects from this size on are uploaded in parts, UPLOAD_QUEUE_SIZE at once. */
export const UPLOAD_PART_SIZE = 8 * 1024 * 1024;
export const UPLOAD_QUEUE_SIZE = 6;
/**
 * Objects up to this size go up in one PutObject: one request streamed from disk, no parts to
 * buffer, about twice multipart's throughput on a loopback emulator. Larger ones, and any a server
 * refuses whole, go in parts.
 */
export const SINGLE_PUT_LIMIT = 1024 * 1024 * 1024;
/** Read size of an upload's file stream: 64 KiB reads cost the client about 2.5x the CPU per byte sent. */
export const UPLOAD_READ_CHUNK = 1024 * 1024;

export class S3ArtifactStore implements ArtifactStore {
  readonly backend = "s3";
  readonly verifiesReads = true;
  readonly bucket: string;
  readonly prefix: string;
  readonly cache: LocalObjectCache;
  /** Requests and bytes this store sent and received, by command. */
  readonly requests = new S3RequestCounter();
  private readonly client: S3Client;
  /** Lowered when the server refuses an object that large in one request. */
  private singlePutLimit = SINGLE_PUT_LIMIT;
  private readonly pending: PendingJournal;
  private readonly openUploads: OpenPartUploads;
  private abandonedSwept?: Promise<number>;
  readonly logCopies: LogCopies;

  constructor(readonly options: S3StoreOptions) {
    const { bucket, prefix } = parseS3Url(options.url);
    this.bucket = bucket;
    this.prefix = prefix;
    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      credentials: options.credentials,
      // The SDK logs nothing by default, except a refused streamed upload, which goes to the console
      // although this store sends it again in parts; errors reach the caller as TrainyardErrors.
      logger: QUIET_LOGGER,
    };
    // Some S3-compatible servers store the aws-chunked framing of a checksummed upload as the content.
    if (options.endpoint && !/\.amazonaws\.com(:\d+)?(\/|$)/.test(options.endpoint)) {
      config.requestChecksumCalculation = "WHEN_REQUIRED";
      config.responseChecksumValidation = "WHEN_REQUIRED";
    }
    // The SDK's documented switch for its notice that later SDK versions need a newer Node, which
    // would otherwise end up in every command's output on Node 20; a value the user set is kept.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    this.client = new S3Client(config);
    this.requests.attach(this.client);
    this.cache = new LocalObjectCache(options.cacheDir, { maxBytes: cacheMaxBytes(options.cacheMax) });
    this.pending = new PendingJournal(join(options.cacheDir, ".pending"));
    this.openUploads = new OpenPartUploads(join(options.cacheDir, ".uploads"));
    this.openUploads.attach(this.client);
    this.logCopies = new S3LogCopies({
      client: this.client,
      bucket,
      prefix: `${prefix}logs/`,
      upload: (key, from, size) => {
        const body = () =>
          typeof from === "string" ? createReadStream(from, { highWaterMark: UPLOAD_READ_CHUNK }) : from;
        const file = typeof from === "string" ? from : undefined;
        return this.upload(key, `store log copy ${key}`, body, { kind: "file", size, file });
      },
      failure: (err, what) => this.failure(err, what),
    });
  }

  /**
   * Aborts the multipart uploads a killed process of this cache left open, so the server drops
   * their parts; returns how many (0 if the server could not be reached). Once per store: the
   * first call, or else the first upload, does it, and later calls share its answer.
   */
  abortAbandonedUploads(): Promise<number> {
    this.abandonedSwept ??= this.openUploads.abortAbandoned(this.client).catch(() => 0);
    return this.abandonedSwept;
  }

  private key(digest: string): string {
    return `${this.prefix}${s3ObjectKey(digest)}`;
  }

  /**
   * The file is first taken into the cache's staging area (renamed when consumed, else copied),
   * then uploaded and admitted from there, so the object and the cached copy are the same bytes.
   * The staged bytes are hashed before anything is sent: a copied file as it is copied (one read,
   * hashed-copy.ts), a consumed one where it now lies. A given digest that is not theirs, or a
   * source written to while it was copied, fails the put before any request.
   */
  async putFile(source: string, opts: PutFileOptions = {}): Promise<StoredObject> {
    const staged = await this.cache.stagingPath();
    let restore: string | undefined;
    try {
      const scheme = opts.digest ? parseDigest(opts.digest).scheme : undefined;
      let actual: { digest: string; size: number };
      if (opts.consume) {
        await moveFile(source, staged);
        restore = source;
        actual = scheme ? await hashFileAs(staged, scheme) : await hashFileNow(staged, opts.size);
      } else {
        const copy = await copyHashed(source, staged, scheme);
        if (copy.changed) {
          throw new TrainyardError(
            "ARTIFACT_SOURCE_CHANGED",
            `${source} changed while it was being stored (${copy.size} bytes read); nothing was stored`,
            { file: source },
          );
        }
        actual = copy;
      }
      if (opts.digest && actual.digest !== opts.digest) {
        const bytes = `its ${actual.size} bytes hash to ${actual.digest}`;
        throw new TrainyardError(
          "DIGEST_INVALID",
          `the digest given for ${source} (${opts.digest}) is not its content's: ${bytes}; nothing was stored`,
          {
            file: source,
            digest: opts.digest,
            hint: "pass the digest of the file as it is now, or none and the store hashes it",
          },
        );
      }
      const { digest, size } = actual;
      this.pending.append(digest);
      if (!(await this.has(digest))) {
        const body = () => createReadStream(staged, { highWaterMark: UPLOAD_READ_CHUNK });
        await this.upload(this.key(digest), `store artifact ${shortDigest(digest)}`, body, {
          kind: "file",
          size,
          file: staged,
        });
      }
      return { digest, size, path: await this.cache.admitStaged(staged, digest) };
    } catch (err) {
      // A consumed output whose upload failed goes back where the step left it.
      if (restore) await rename(staged, restore).catch(ignore);
      throw err;
    } finally {
      await rm(staged, { force: true }).catch(ignore);
    }
  }

  async putDirectory(source: string, opts: { consume?: boolean } = {}): Promise<StoredObject> {
    const { digest, size } = await hashTree(source);
    this.pending.append(digest);
    if (!(await this.has(digest))) {
      const entries = await listTree(source);
      const length = archiveSize(entries);
      await this.upload(this.key(digest), `store artifact ${shortDigest(digest)}`, () => packTree(source, entries), {
        kind: "directory",
        size,
        length,
      });
    }
    const path = await this.cache.add(source, digest, { consume: opts.consume, isDirectory: true });
    return { digest, size, path };
  }

  async putBytes(bytes: Uint8Array): Promise<StoredObject> {
    const digest = sha256Digest(bytes);
    this.pending.append(digest);
    if (!(await this.has(digest)))
      await this.upload(this.key(digest), `store artifact ${shortDigest(digest)}`, () => Buffer.from(bytes), {
        kind: "file",
        size: bytes.length,
      });
    const path = (await this.cache.lookup(digest)) ?? (await this.cacheBytes(bytes, digest));
    return { digest, size: bytes.byteLength, path };
  }

  private async cacheBytes(bytes: Uint8Array, digest: string): Promise<string> {
    const temp = join(this.options.cacheDir, `.tmp-${digest}.${process.pid}`);
    await writeFile(temp, bytes);
    return this.cache.add(temp, digest, { consume: true });
  }

  /**
   * `body` opens the content afresh: a refused single request is sent again in parts. A content
   * with a `file` goes in parts read from the file; a stream (a directory's archive) in buffered parts.
   * `key` is the object's whole key (an artifact's, or a log copy's); `what` names it in an error.
   */
  private async upload(
    key: string,
    what: string,
    body: () => Readable | Buffer,
    info: { kind: "file" | "directory"; size: number; length?: number; file?: string },
  ): Promise<void> {
    void this.abortAbandonedUploads();
    const length = info.length ?? info.size;
    const params = {
      Bucket: this.bucket,
      Key: key,
      Metadata: { [KIND]: info.kind, [CONTENT_SIZE]: String(info.size) },
    };
    try {
      let refusedWhole = false;
      if (length <= this.singlePutLimit) {
        try {
          await this.client.send(new PutObjectCommand({ ...params, Body: body(), ContentLength: length }));
          return;
        } catch (err) {
          // Only a large object is worth a second try in parts; a small one failed for another reason.
          if (length <= UPLOAD_PART_SIZE) throw err;
          refusedWhole = true;
        }
      }
      if (info.file) {
        const { Bucket: bucket, Key: key, Metadata: metadata } = params;
        const sizes = {
          size: length,
          partSize: UPLOAD_PART_SIZE,
          lanes: UPLOAD_QUEUE_SIZE,
          readChunk: UPLOAD_READ_CHUNK,
        };
        await uploadFileInParts({ client: this.client, bucket, key, metadata, file: info.file, ...sizes });
      } else {
        const parts = { client: this.client, partSize: UPLOAD_PART_SIZE, queueSize: UPLOAD_QUEUE_SIZE };
        await new Upload({ ...parts, params: { ...params, Body: body() } }).done();
      }
      // Refused whole (a 413, or the connection closed mid-body) but taken in parts: objects this
      // large go straight to parts from now on.
      if (refusedWhole) this.singlePutLimit = Math.min(this.singlePutLimit, length - 1);
    } catch (err) {
      throw this.failure(err, what);
    }
  }

  async has(digest: string): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  async stat(digest: string): Promise<ObjectStat | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(digest) }));
      const at = head.LastModified?.getTime() ?? 0;
      const isDirectory = head.Metadata?.[KIND] === "directory";
      const size = Number(head.Metadata?.[CONTENT_SIZE] ?? head.ContentLength ?? 0);
      return { size, mtimeMs: at, ctimeMs: at, ino: 0, isDirectory };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.failure(err, `look up artifact ${shortDigest(digest)}`);
    }
  }

  localPath(digest: string): string {
    return this.cache.pathOf(digest);
  }

  getLocal(digest: string): Promise<string> {
    return this.cache.get(digest, `s3://${this.bucket}/${this.key(digest)}`, (target) => this.download(digest, target));
  }

  private async download(digest: string, target: string): Promise<{ digest: string; size: number } | undefined> {
    const read = { client: this.client, bucket: this.bucket, key: this.key(digest), digest, target };
    try {
      return await downloadObject({ ...read, counter: this.requests });
    } catch (err) {
      if (err instanceof TrainyardError) throw err;
      if (isNotFound(err)) {
        throw new TrainyardError("ARTIFACT_MISSING", `artifact ${shortDigest(digest)} is not in ${this.describe()}`, {
          digest,
          file: `s3://${this.bucket}/${this.key(digest)}`,
        });
      }
      throw this.failure(err, `read artifact ${shortDigest(digest)}`);
    }
  }

  /** The verified bytes: read from the local copy, fetched and checked first when needed. */
  async stream(digest: string): Promise<Readable> {
    const path = await this.getLocal(digest);
    const isDirectory = (await stat(path)).isDirectory();
    return isDirectory ? packTree(path, await listTree(path)) : createReadStream(path);
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const prefix = `${this.prefix}objects/`;
    let token: string | undefined;
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((err) => {
          throw this.failure(err, "list artifacts");
        });
      for (const o of page.Contents ?? []) {
        const [scheme, hex] = (o.Key ?? "").slice(prefix.length).split("/");
        const digest = `${scheme}:${hex}`;
        // Anything else under the prefix is not an artifact object: listed as it is, for fsck to name.
        out.push(isDigest(digest) ? digest : (o.Key ?? "").slice(prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(digest: string): Promise<void> {
    await this.cache.evict(digest);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(digest) })).catch((err) => {
      if (!isNotFound(err)) throw this.failure(err, `delete artifact ${shortDigest(digest)}`);
    });
  }

  /** Moves a damaged object to `<prefix>quarantine/<digest>.<ms>` and drops its cached copy. */
  async quarantine(digest: string): Promise<string | undefined> {
    await this.cache.evict(digest);
    if (!(await this.has(digest))) return undefined;
    const key = `${this.prefix}quarantine/${digest.replace(":", "-")}.${Date.now()}`;
    await this.client.send(
      new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: `${this.bucket}/${this.key(digest)}` }),
    );
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(digest) }));
    return `s3://${this.bucket}/${key}`;
  }

  retain(digests: Iterable<string>): void {
    this.pending.appendAll(digests);
  }

  holdPending(): () => void {
    return this.pending.hold();
  }

  pendingDigests(opts: { removeDead?: boolean } = {}): { digests: Set<string>; owners: string[]; removed: number } {
    return scanPendingJournals(this.pending.dir, opts);
  }

  sweepTemp(olderThanMs: number): Promise<number> {
    return this.cache.sweepTemp(olderThanMs);
  }

  async close(): Promise<void> {
    await this.abandonedSwept;
    this.pending.close();
    this.client.destroy();
  }

  private describe(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private failure(err: unknown, what: string): TrainyardError {
    const where = this.options.endpoint ? ` at ${this.options.endpoint}` : "";
    return new TrainyardError(
      "OBJECT_STORE_UNAVAILABLE",
      `could not ${what} in ${this.describe()}${where}: ${(err as Error).message || (err as Error).name}`,
      { cause: err, file: this.describe() },
    );
  }
}

/** Renames `source` to `target`, or copies and removes it when they are on different file systems. */
async function moveFile(source: string, target: string): Promise<void> {
  try {
    await rename(source, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    await copyFile(source, target);
    await rm(source, { force: true });
  }
}

/** An object's key under the store's prefix: `objects/<scheme>/<hex>`. */
export function s3ObjectKey(digest: string): string {
  const { scheme, hex } = parseDigest(digest);
  return `objects/${scheme}/${hex}`;
}

/** `s3://bucket/some/prefix` -> bucket and a prefix ending in "/" (or empty). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) {
    throw new TrainyardError("CONFIG_INVALID", `artifact store URL ${url} is not of the form s3://bucket/prefix`, {
      hint: 'set store.artifacts to "s3://<bucket>/<prefix>" (or a local directory)',
    });
  }
  const prefix = m[2].replace(/^\/+|\/+$/g, "");
  return { bucket: m[1], prefix: prefix ? `${prefix}/` : "" };
}

const ignore = () => undefined;
const QUIET_LOGGER = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

/** The cache's bound in bytes: the option, else $TRAINYARD_OBJECT_CACHE_MAX, else unset (the cache's default). */
function cacheMaxBytes(option: number | string | undefined, env = process.env): number | undefined {
  if (typeof option === "number") return option;
  if (option !== undefined) return parseByteSize(option, "artifacts.cacheMax");
  const fromEnv = env.TRAINYARD_OBJECT_CACHE_MAX;
  return fromEnv ? parseByteSize(fromEnv, "TRAINYARD_OBJECT_CACHE_MAX") : undefined;
}
