/** Log copies (see LogCopies) as objects under `<prefix>logs/` of the S3 store's bucket, beside `objects/`. */
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { LogCopies } from "./artifact-store.js";
import { isNotFound } from "./s3-retry.js";

export interface S3LogCopiesOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of the copies, ending in "/". */
  prefix: string;
  /** Uploads a file as the object `key` (the store's upload: one request, or parts for a large one). */
  upload(key: string, file: string, size: number): Promise<void>;
  /** The store's error for a failed request. */
  failure(err: unknown, what: string): Error;
}

export class S3LogCopies implements LogCopies {
  constructor(private readonly s3: S3LogCopiesOptions) {}

  async put(name: string, file: string): Promise<void> {
    await this.s3.upload(this.s3.prefix + name, file, (await stat(file)).size);
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

  async removeDirs(dirs: readonly string[]): Promise<number> {
    const { client, bucket } = this.s3;
    let removed = 0;
    for (const dir of dirs) {
      const prefix = `${this.s3.prefix}${dir}/`;
      let found = false;
      let token: string | undefined;
      do {
        const page = await client
          .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
          .catch((err) => {
            throw this.s3.failure(err, `list log copies under ${prefix}`);
          });
        for (const o of page.Contents ?? []) {
          found = true;
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key })).catch((err) => {
            if (!isNotFound(err)) throw this.s3.failure(err, `remove log copy ${o.Key}`);
          });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      if (found) removed++;
    }
    return removed;
  }

  async dirs(): Promise<Map<string, number>> {
    const { client, bucket, prefix } = this.s3;
    const out = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await client
        .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((err) => {
          throw this.s3.failure(err, `list log copies under ${prefix}`);
        });
      for (const o of page.Contents ?? []) {
        const rest = (o.Key ?? "").slice(prefix.length);
        const slash = rest.indexOf("/");
        if (slash <= 0) continue;
        const dir = rest.slice(0, slash);
        const at = o.LastModified?.getTime() ?? 0;
        out.set(dir, Math.max(out.get(dir) ?? 0, at));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}
