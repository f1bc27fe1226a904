/**
 * Counts the requests an S3 client sends, by command, and the bytes of object bodies it reads:
 * what a warm cache saves is measured rather than assumed (benchmarks, `trainyard` diagnostics).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { PassThrough, type Readable } from "node:stream";

export class S3RequestCounter {
  /** Requests sent, by command name (GetObjectCommand, PutObjectCommand, UploadPartCommand, ...). */
  readonly byCommand = new Map<string, number>();
  /** Bytes of object bodies read from the store. */
  bytesRead = 0;

  attach(client: S3Client): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? "unknown";
        this.byCommand.set(name, (this.byCommand.get(name) ?? 0) + 1);
        return next(args);
      },
      { step: "initialize", name: "trainyardRequestCounter" },
    );
  }

  /** How many requests of `command` were sent. */
  count(command: string): number {
    return this.byCommand.get(command) ?? 0;
  }

  /** `body`, counting its bytes into bytesRead as they are read. */
  countBody(body: Readable): Readable {
    const counted = new PassThrough();
    body.on("data", (chunk: Buffer) => {
      this.bytesRead += chunk.length;
    });
    body.on("error", (err) => counted.destroy(err));
    return body.pipe(counted);
  }
}
