/**
 * Digests of input files without re-reading unchanged ones: like DVC, a file whose size,
 * modification time and inode match the stat index keeps its recorded digest.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { TrainyardError } from "../core/errors.js";
import { hashFile, hashTree } from "./file-hash.js";
import type { StatIndexStore } from "./metadata-store.js";

export interface FileDigest {
  path: string;
  digest: string;
  size: number;
  /** True when the digest came from the stat index without reading the file. */
  fromIndex: boolean;
  isDirectory: boolean;
}

export async function digestPath(
  metadata: StatIndexStore,
  path: string,
  context: { step?: string } = {},
): Promise<FileDigest> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    throw new TrainyardError(
      "NOT_FOUND",
      `${context.step ? `step "${context.step}": ` : ""}file ${abs} does not exist or cannot be read`,
      {
        step: context.step,
        file: abs,
        cause: err,
        hint: "check the path (relative paths are resolved from the pipeline module's directory)",
      },
    );
  }
  if (st.isDirectory()) {
    const tree = await hashTree(abs);
    return { path: abs, digest: tree.digest, size: tree.size, fromIndex: false, isDirectory: true };
  }
  const known = await metadata.getStat(abs);
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs && known.ino === st.ino) {
    return { path: abs, digest: known.digest, size: st.size, fromIndex: true, isDirectory: false };
  }
  const { digest, size } = await hashFile(abs);
  // A file modified while being hashed must not be recorded under its old stat.
  const after = await stat(abs);
  if (after.mtimeMs === st.mtimeMs && after.size === st.size) {
    await metadata.putStat({ path: abs, size, mtimeMs: st.mtimeMs, ino: st.ino, digest });
  }
  return { path: abs, digest, size, fromIndex: false, isDirectory: false };
}
