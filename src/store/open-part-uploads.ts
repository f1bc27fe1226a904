/**
 * The multipart uploads a cache's processes have open, one file each in `<cacheDir>/.uploads`:
 * the owner's identity, the bucket, the key and the upload id. A process killed mid-upload never
 * completes or aborts it, and the server keeps (and bills) its parts for ever; its file stays, and
 * the next store opened on the cache aborts the upload once the owner is known to be dead.
 * Recorded from the client's own requests (a middleware), so every multipart upload is covered,
 * whoever sends it (the store's file parts, lib-storage's directory archives).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AbortMultipartUploadCommand, type S3Client } from "@aws-sdk/client-s3";
import { identityAlive, type ProcessIdentity, selfIdentity } from "./process-identity.js";

interface OpenUpload {
  owner: ProcessIdentity;
  bucket: string;
  key: string;
  uploadId: string;
}

export class OpenPartUploads {
  constructor(readonly dir: string) {}

  /** Records the uploads `client` creates, and forgets them once completed or aborted. */
  attach(client: S3Client): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Bucket?: string; Key?: string; UploadId?: string };
        const result = await next(args);
        if (context.commandName === "CreateMultipartUploadCommand") {
          const uploadId = (result.output as { UploadId?: string }).UploadId;
          if (uploadId && input.Bucket && input.Key) this.begin({ bucket: input.Bucket, key: input.Key, uploadId });
        } else if (
          (context.commandName === "CompleteMultipartUploadCommand" ||
            context.commandName === "AbortMultipartUploadCommand") &&
          input.UploadId
        ) {
          this.end(input.UploadId);
        }
        return result;
      },
      { step: "initialize", name: "trainyardOpenPartUploads" },
    );
  }

  /**
   * Aborts the uploads whose owner died (on this host; another host's are left to their own
   * store), and returns how many. An upload the server no longer knows counts as aborted.
   */
  async abortAbandoned(client: S3Client): Promise<number> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    let aborted = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      let upload: OpenUpload;
      try {
        upload = JSON.parse(readFileSync(path, "utf8")) as OpenUpload;
      } catch {
        continue; // being written, or not one of ours
      }
      if (identityAlive(upload.owner) !== false) continue;
      try {
        await client.send(
          new AbortMultipartUploadCommand({ Bucket: upload.bucket, Key: upload.key, UploadId: upload.uploadId }),
        );
      } catch (err) {
        const name = (err as { name?: string }).name;
        // A server without aborts (s3rver answers 405) never will: the record is of no use.
        if (name === "MethodNotAllowed" || name === "NotImplemented") {
          rmSync(path, { force: true });
          continue;
        }
        if (name !== "NoSuchUpload") continue; // the server is away: next time
      }
      rmSync(path, { force: true });
      aborted++;
    }
    return aborted;
  }

  /** A record that cannot be written (a full disk) costs only the later abort, never the upload. */
  private begin(upload: Omit<OpenUpload, "owner">): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const open: OpenUpload = { owner: selfIdentity(), ...upload };
      writeFileSync(this.fileOf(upload.uploadId), JSON.stringify(open));
    } catch {
      // left to the bucket's lifecycle rule
    }
  }

  private end(uploadId: string): void {
    try {
      rmSync(this.fileOf(uploadId), { force: true });
    } catch {
      // a record left behind is aborted later, and an upload the server no longer knows counts as aborted
    }
  }

  private fileOf(uploadId: string): string {
    return join(this.dir, `${selfIdentity().pid}-${uploadId.replace(/[^A-Za-z0-9_-]/g, "_")}`);
  }
}
