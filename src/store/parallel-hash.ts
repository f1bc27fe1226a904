/**
 * Plain sha256 of many files on several threads at once, for checking a whole store (fsck):
 * one sha256 stream runs on one core, so files are spread over worker threads, each reading
 * its files in 4 MiB pieces. Digests come back as `sha256:<hex>`; objects named by a block digest
 * are not for this pool: that digest is already computed in parallel (block-hash.ts).
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";

export interface FileHashResult {
  path: string;
  digest?: string;
  size?: number;
  error?: string;
}

const WORKER_SOURCE = `
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync } = require("node:fs");
const { parentPort } = require("node:worker_threads");
const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
parentPort.on("message", (job) => {
  const out = [];
  for (const path of job.paths) {
    let fd;
    try {
      fd = openSync(path, "r");
      const hash = createHash("sha256");
      let size = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        size += n;
      }
      out.push({ path, digest: "sha256:" + hash.digest("hex"), size });
    } catch (err) {
      out.push({ path, error: err.message });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  parentPort.postMessage({ id: job.id, out });
});
`;

/** Files per message: enough to amortize a round trip, few enough to keep both threads busy. */
const BATCH = 32;

/** Hashes `paths` on up to `threads` worker threads; results arrive in batches, in no set order. */
export async function hashFilesInParallel(
  paths: readonly string[],
  onResults: (results: FileHashResult[]) => void | Promise<void>,
  threads = Math.min(2, availableParallelism()),
): Promise<void> {
  if (!paths.length) return;
  const { Worker: Thread } = (await import("node:worker_threads")) as { Worker: typeof Worker };
  const workers = Array.from({ length: Math.max(1, threads) }, () => new Thread(WORKER_SOURCE, { eval: true }));
  let next = 0;
  let id = 0;
  try {
    await Promise.all(
      workers.map(async (w) => {
        while (next < paths.length) {
          const batch = paths.slice(next, next + BATCH);
          next += batch.length;
          const out = await new Promise<FileHashResult[]>((resolve, reject) => {
            const job = id++;
            const onMessage = (m: { id: number; out: FileHashResult[] }) => {
              if (m.id !== job) return;
              w.off("message", onMessage);
              w.off("error", reject);
              resolve(m.out);
            };
            w.on("message", onMessage);
            w.once("error", reject);
            w.postMessage({ id: job, paths: batch });
          });
          await onResults(out);
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
