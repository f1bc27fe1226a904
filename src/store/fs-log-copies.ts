/**
 * Log copies (see LogCopies) as files under a directory: the fs artifact store's `<root>/logs`, and
 * a home's own `logs` (its attempts' log files have the same layout, and gc sweeps both alike).
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import type { LogCopies } from "./artifact-store.js";

export class FsLogCopies implements LogCopies {
  constructor(private readonly dir: string) {}

  async put(name: string, from: string | Buffer): Promise<void> {
    const target = join(this.dir, name);
    await mkdir(dirname(target), { recursive: true });
    // Copied aside and renamed into place: a reader sees the old copy or the new one, whole.
    const temp = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await (typeof from === "string" ? copyFile(from, temp) : writeFile(temp, from));
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  }

  async open(name: string): Promise<Readable | undefined> {
    const handle = await open(join(this.dir, name), "r").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    return handle?.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  async remove(names: readonly string[]): Promise<void> {
    for (const name of names) await rm(join(this.dir, name), { force: true });
  }

  async removeDirs(dirs: readonly string[]): Promise<number> {
    let removed = 0;
    for (const dir of dirs) {
      const path = join(this.dir, dir);
      if (!(await stat(path).catch(() => undefined))) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async dirs(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const dir of await readdir(this.dir).catch(() => [] as string[])) {
      const path = join(this.dir, dir);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      let newest = st.mtimeMs;
      for (const name of await readdir(path).catch(() => [] as string[])) {
        const file = await stat(join(path, name)).catch(() => undefined);
        if (file && file.mtimeMs > newest) newest = file.mtimeMs;
      }
      out.set(dir, newest);
    }
    return out;
  }
}
