/** Streaming sha256 of files and directory trees, with large reads to stay near memory speed. */
import { createHash } from "node:crypto";
import { open, readdir, lstat } from "node:fs/promises";
import { join, relative, sep } from "node:path";

const CHUNK = 4 * 1024 * 1024;

export async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash("sha256");
  const handle = await open(path, "r");
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { digest: hash.digest("hex"), size };
}

export interface TreeEntry {
  rel: string;
  digest: string;
  size: number;
  mode: number;
}

/** Every regular file under `root` with its digest, sorted by relative path. */
export async function hashTree(root: string): Promise<{ digest: string; size: number; entries: TreeEntry[] }> {
  const entries: TreeEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const full = join(dir, name);
      const st = await lstat(full);
      if (st.isDirectory()) await walk(full);
      else if (st.isFile()) {
        const { digest, size } = await hashFile(full);
        entries.push({ rel: relative(root, full).split(sep).join("/"), digest, size, mode: st.mode & 0o111 ? 0o755 : 0o644 });
      }
    }
  };
  await walk(root);
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const manifest = entries.map((e) => `${e.rel}\t${e.mode.toString(8)}\t${e.digest}\n`).join("");
  const digest = createHash("sha256").update("tree\n").update(manifest).digest("hex");
  return { digest, size: entries.reduce((s, e) => s + e.size, 0), entries };
}
