/**
 * A directory artifact as one object: a header naming every regular file (relative path, mode,
 * size), then the files' bytes in header order. It carries exactly what a tree digest covers
 * (file-hash.ts hashTree), so an unpacked copy hashes to the digest it was stored under.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { TrainyardError } from "../core/errors.js";

const MAGIC = Buffer.from("trainyard-tree 1\n");

export interface ArchiveEntry {
  path: string;
  mode: number;
  size: number;
}

/** Every regular file under `root`, sorted by relative path (empty directories and links carry no content). */
export async function listTree(root: string): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const st = await lstat(join(dir, name));
      if (st.isDirectory()) await walk(join(dir, name), `${rel}${name}/`);
      else if (st.isFile()) out.push({ path: `${rel}${name}`, mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size });
    }
  };
  await walk(root, "");
  return out;
}

/** The archive's total size, for a Content-Length before streaming it. */
export function archiveSize(entries: ArchiveEntry[]): number {
  return MAGIC.length + 8 + Buffer.byteLength(JSON.stringify(entries)) + entries.reduce((s, e) => s + e.size, 0);
}

/** Streams `root` as an archive; `entries` from listTree (so the caller can size it first). */
export function packTree(root: string, entries: ArchiveEntry[]): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    const header = Buffer.from(JSON.stringify(entries));
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(header.length));
    yield Buffer.concat([MAGIC, length, header]);
    for (const e of entries) {
      let sent = 0;
      for await (const chunk of createReadStream(join(root, e.path))) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      // A file that changed size while packed would shift every file after it.
      if (sent !== e.size) throw broken(`${e.path} changed size while it was stored (${e.size} -> ${sent} bytes)`);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** Writes the files of an archive read from `source` under `target` (which must not exist yet). */
export async function unpackTree(source: AsyncIterable<Uint8Array>, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  let pending = Buffer.alloc(0);
  let entries: ArchiveEntry[] | undefined;
  let index = 0;
  let left = 0;
  let out: ReturnType<typeof createWriteStream> | undefined;
  const openNext = async (): Promise<void> => {
    while (entries && index < entries.length) {
      const e = entries[index];
      if (e.path.split("/").some((part) => part === ".." || part === "") || e.path.startsWith("/"))
        throw broken(`it names a path outside its directory (${e.path})`);
      const file = join(target, e.path);
      await mkdir(dirname(file), { recursive: true });
      out = createWriteStream(file, { mode: e.mode });
      left = e.size;
      if (left > 0) return;
      await closeOut();
    }
  };
  const closeOut = async (): Promise<void> => {
    if (!out) return;
    out.end();
    await finished(out);
    out = undefined;
    index++;
  };
  for await (const chunk of source) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
    if (!entries) {
      if (pending.length < MAGIC.length + 8) continue;
      if (!pending.subarray(0, MAGIC.length).equals(MAGIC)) throw broken("it does not start with a tree header");
      const headerLength = Number(pending.readBigUInt64BE(MAGIC.length));
      const start = MAGIC.length + 8;
      if (pending.length < start + headerLength) continue;
      entries = JSON.parse(pending.subarray(start, start + headerLength).toString("utf8")) as ArchiveEntry[];
      pending = pending.subarray(start + headerLength);
      await openNext();
    }
    while (pending.length && out) {
      const take = Math.min(left, pending.length);
      if (!out.write(pending.subarray(0, take))) await new Promise<void>((r) => out!.once("drain", () => r()));
      pending = pending.subarray(take);
      left -= take;
      if (left === 0) {
        await closeOut();
        await openNext();
      }
    }
    if (pending.length && entries && index >= entries.length) throw broken("it has bytes after its last file");
  }
  if (!entries || index < entries.length) throw broken("it ends before its last file");
}

function broken(detail: string): TrainyardError {
  return new TrainyardError("ARTIFACT_CORRUPT", `a stored directory archive is damaged: ${detail}`, {
    hint: "the object is not used; `trainyard fsck --repair` removes it and a resume recomputes it",
  });
}
