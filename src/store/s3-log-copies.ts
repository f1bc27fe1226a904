/** Log copies (see LogCopies) as objects under `<prefix>logs/` of the S3 store's bucket, beside `objects/`. */
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { LogCopies } from "./artifact-store.js";
import { isNotFound } from "./s3-retry.js";

export interface S3LogCopiesOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of the copies, ending in "/". */
  prefix: string;
  /** Uploads a file (or bytes) as the object `key` (the store's upload: one request, or parts for a large one). */
  upload(key: string, from: string | Buffer, size: number): Promise<void>;
  /** The store's error for a failed request. */
  failure(err: unknown, what: string): Error;
}

export class S3LogCopies implements LogCopies {
  constructor(private readonly s3: S3LogCopiesOptions) {}

  async put(name: string, from: string | Buffer): Promise<void> {
    const size = typeof from === "string" ? (await stat(from)).size : from.length;
    await this.s3.upload(this.s3.prefix + name, from, size);
  }

  async open(name: string): Promise<Readable | undefined> {
    const { client, bucket } = this.s3;
    const key = this.s3.prefix + name;
    try {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return got.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.s3.failure(err, `read log copy ${key}`);
    }
  }

  async remove(names: readonly string[]): Promise<void> {
    const { client, bucket } = this.s3;
    // One request per thousand names, the most a DeleteObjects takes.
    for (let at = 0; at < names.length; at += 1000) {
      const keys = names.slice(at, at + 1000).map((name) => ({ Key: this.s3.prefix + name }));
      const done = await client
        .send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }))
        .catch((err) => {
          throw this.s3.failure(err, `remove ${keys.length} log copies`);
        });
      const failed = (done.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length)
        throw new Error(`could not remove log copy ${failed[0].Key}: ${failed[0].Message ?? failed[0].Code}`);
    }
  }

  async removeDirs(dirs: readonly string[]): Promise<number> {
    const { client, bucket } = this.s3;
    let removed = 0;
    for (const dir of dirs) {
      let found = false;
      for await (const { key } of this.keys(`${this.s3.prefix}${dir}/`)) {
        found = true;
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch((err) => {
          if (!isNotFound(err)) throw this.s3.failure(err, `remove log copy ${key}`);
        });
      }
      if (found) removed++;
    }
    return removed;
  }

  async dirs(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const { key, at } of this.keys(this.s3.prefix)) {
      const rest = key.slice(this.s3.prefix.length);
      const slash = rest.indexOf("/");
      if (slash <= 0) continue;
      const dir = rest.slice(0, slash);
      out.set(dir, Math.max(out.get(dir) ?? 0, at));
    }
    return out;
  }

  /** Every key under `prefix`, with when it was stored (ms), page by page. */
  private async *keys(prefix: string): AsyncGenerator<{ key: string; at: number }> {
    const { client, bucket } = this.s3;
    let token: string | undefined;
    do {
      const page = await client
        .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((err) => {
          throw this.s3.failure(err, `list log copies under ${prefix}`);
        });
      for (const o of page.Contents ?? []) if (o.Key) yield { key: o.Key, at: o.LastModified?.getTime() ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
