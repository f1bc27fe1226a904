/**
 * The block digest of a large file (see file-hash.ts): sha256 of each BLOCK-byte block, then
 * sha256 of a header and the block digests in order. Two worker threads (one per core, at most
 * two) each read and hash every other block straight from the file, so the blocks are neither
 * copied between threads nor hashed on the event loop; the threads are kept for later files and
 * never hold the process open. Where workers are unavailable the same digest is computed here.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { SHA256_BLOCKS } from "../core/digest-format.js";

export const BLOCK = 8 * 1024 * 1024;

interface Job {
  id: number;
  path: string;
  /** Blocks first, first + step, first + step * 2, ... below `count`. */
  first: number;
  step: number;
  count: number;
}
type Reply =
  | { id: number; digests: Uint8Array[]; sizes: number[] }
  | { id: number; error: { message: string; code?: string } };

/** Reads and hashes its share of blocks; a short block is the end of the file. */
const WORKER_SOURCE = `
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync } = require("node:fs");
const { parentPort } = require("node:worker_threads");
const BLOCK = ${BLOCK};
const buf = Buffer.allocUnsafe(BLOCK);
parentPort.on("message", (job) => {
  let fd;
  try {
    fd = openSync(job.path, "r");
    const digests = [], sizes = [];
    for (let i = job.first; i < job.count; i += job.step) {
      let got = 0;
      while (got < BLOCK) {
        const n = readSync(fd, buf, got, BLOCK - got, i * BLOCK + got);
        if (n === 0) break;
        got += n;
      }
      digests.push(createHash("sha256").update(buf.subarray(0, got)).digest());
      sizes.push(got);
      if (got < BLOCK) break;
    }
    parentPort.postMessage({ id: job.id, digests, sizes });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: { message: err.message, code: err.code } });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

class HashWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  broken = false;

  constructor(Thread: typeof Worker) {
    this.worker = new Thread(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      const done = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!this.pending.size) this.worker.unref();
      done?.(reply);
    });
    this.worker.on("error", (err) => this.fail(err));
    this.worker.on("exit", () => this.fail(new Error("the hashing thread exited")));
  }

  hash(job: Job): Promise<{ digests: Uint8Array[]; sizes: number[] }> {
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, (reply) => {
        if ("error" in reply) reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
        else resolve(reply);
      });
      this.worker.ref();
      this.worker.postMessage(job);
    });
  }

  private fail(err: Error): void {
    this.broken = true;
    for (const done of this.pending.values()) done({ id: -1, error: { message: err.message } });
    this.pending.clear();
  }
}

let workers: HashWorker[] | undefined;
let nextId = 0;

/** Loaded with the first large file: most runs never hash one. */
let threads: Promise<typeof Worker> | undefined;

async function pool(): Promise<HashWorker[] | undefined> {
  if (workers?.some((w) => w.broken)) workers = undefined;
  if (!workers) {
    try {
      const Thread = await (threads ??= import("node:worker_threads").then((m) => m.Worker));
      workers ??= Array.from({ length: Math.min(2, availableParallelism()) }, () => new HashWorker(Thread));
    } catch {
      return undefined;
    }
  }
  return workers;
}

/** The `sha256-blocks-8m:` digest of the file at `path`, whose size was `size` when it was opened. */
export async function hashBlocks(path: string, size: number): Promise<{ digest: string; size: number }> {
  const count = Math.max(1, Math.ceil(size / BLOCK));
  const digests: Uint8Array[] = [];
  const sizes: number[] = [];
  const ws = await pool();
  if (ws) {
    const parts = await Promise.all(ws.map((w, k) => w.hash({ id: nextId++, path, first: k, step: ws.length, count })));
    parts.forEach((part, k) =>
      part.digests.forEach((d, j) => {
        digests[k + j * ws.length] = d;
        sizes[k + j * ws.length] = part.sizes[j];
      }),
    );
  }
  // Here: everything when there are no workers, else only what the file grew by since.
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(BLOCK);
    for (let i = 0; ; i++) {
      if (sizes[i] !== undefined) {
        if (sizes[i] < BLOCK) break;
        continue;
      }
      let got = 0;
      while (got < BLOCK) {
        const n = readSync(fd, buf, got, BLOCK - got, i * BLOCK + got);
        if (n === 0) break;
        got += n;
      }
      if (got === 0 && i > 0) break;
      digests[i] = createHash("sha256").update(buf.subarray(0, got)).digest();
      sizes[i] = got;
      if (got < BLOCK) break;
    }
  } finally {
    closeSync(fd);
  }
  // The file ends at its first short block: a shrunk file's later blocks do not count.
  let end = sizes.findIndex((s) => s === undefined || s < BLOCK);
  if (end < 0) end = sizes.length - 1;
  if (sizes[end] === undefined || (sizes[end] === 0 && end > 0)) end--;
  let total = 0;
  for (let i = 0; i <= end; i++) total += sizes[i];
  return { digest: combineBlockDigests(digests.slice(0, end + 1), total), size: total };
}

/**
 * The `sha256-blocks-8m:` digest from the sha256 of each block in order (an empty file is one
 * empty block) and the total size: what any reader hashing blocks on its own combines them into.
 */
export function combineBlockDigests(blockDigests: readonly Uint8Array[], total: number): string {
  const hash = createHash("sha256").update(`trainyard-blocks sha256 ${BLOCK} ${total}\n`);
  for (const d of blockDigests) hash.update(d);
  return `${SHA256_BLOCKS}:${hash.digest("hex")}`;
}
