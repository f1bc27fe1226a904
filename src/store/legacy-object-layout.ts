/**
 * Objects stored before digests named their scheme lie under `objects/<hex prefix>/<hex>`
 * whatever their scheme. Their scheme is read off the object itself (a directory is a tree; a
 * file of 64 MiB and more is a block digest unless its bytes are JSON named by their plain sha256),
 * and tree and block objects move to `objects/<scheme>/<prefix>/<hex>` where the store now keeps
 * them. Each move is one rename, so a migration cut short is finished by the next one, and objects
 * already moved (by that earlier try, or by another process upgrading the same home at the same
 * moment) are found in their scheme's directory.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { chmod, lstat, mkdir, readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { type DigestScheme, SHA256, SHA256_BLOCKS, SHA256_TREE } from "../core/digest-format.js";
import { BLOCKED_MIN, hashFileSha256 } from "./file-hash.js";

const HEX = /^[0-9a-f]{64}$/;
const PREFIX = /^[0-9a-f]{1,2}$/;

/**
 * Moves the tree and block objects of a store written before schemes into their scheme's
 * directory; returns the scheme of every object it found there (hex -> scheme).
 */
export async function migrateLegacyObjects(objectsDir: string): Promise<Map<string, DigestScheme>> {
  const schemes = new Map<string, DigestScheme>();
  for (const prefix of (await entries(objectsDir)).filter((p) => PREFIX.test(p))) {
    for (const hex of await entries(join(objectsDir, prefix))) {
      if (!HEX.test(hex)) continue;
      const from = join(objectsDir, prefix, hex);
      // Gone meanwhile: another process moved it, and the scan of the scheme directories below finds it.
      const scheme = await schemeOfLegacyObject(from, hex).catch(unlessGone);
      if (scheme === undefined) continue;
      schemes.set(hex, scheme);
      if (scheme !== SHA256) await moveToScheme(objectsDir, prefix, hex, scheme).catch(unlessGone);
    }
  }
  for (const scheme of [SHA256_TREE, SHA256_BLOCKS] as DigestScheme[])
    for (const prefix of (await entries(join(objectsDir, scheme))).filter((p) => PREFIX.test(p)))
      for (const hex of await entries(join(objectsDir, scheme, prefix))) if (HEX.test(hex)) schemes.set(hex, scheme);
  return schemes;
}

async function moveToScheme(objectsDir: string, prefix: string, hex: string, scheme: DigestScheme): Promise<void> {
  const from = join(objectsDir, prefix, hex);
  const dir = join(objectsDir, scheme, prefix);
  await mkdir(dir, { recursive: true });
  // A directory's ".." changes when it moves to another parent: it must be writable for that.
  if (scheme === SHA256_TREE) await chmod(from, 0o755);
  await rename(from, join(dir, hex));
  if (scheme === SHA256_TREE) await chmod(join(dir, hex), 0o555);
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir)
    .catch(unlessGone)
    .then((names) => names ?? []);
}

function unlessGone(err: NodeJS.ErrnoException): undefined {
  if (err.code === "ENOENT") return undefined;
  throw err;
}

async function schemeOfLegacyObject(path: string, hex: string): Promise<DigestScheme> {
  const st = await lstat(path);
  if (st.isDirectory()) return SHA256_TREE;
  if (st.size < BLOCKED_MIN) return SHA256;
  // Large JSON values were stored by their plain sha256; datasets and models by blocks.
  if (!startsLikeJson(path)) return SHA256_BLOCKS;
  return (await hashFileSha256(path)).digest === `${SHA256}:${hex}` ? SHA256 : SHA256_BLOCKS;
}

function startsLikeJson(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const first = Buffer.alloc(1);
    readSync(fd, first, 0, 1, 0);
    return first[0] === 0x7b || first[0] === 0x5b || first[0] === 0x22;
  } finally {
    closeSync(fd);
  }
}
