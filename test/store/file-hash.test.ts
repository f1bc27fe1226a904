import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashBlocks } from "../../src/store/block-hash.js";
import { BLOCK, BLOCKED_MIN, hashFile, hashFileNow } from "../../src/store/file-hash.js";
import { FileSystemSync } from "../../src/store/fs-sync.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-filehash-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();

/** The documented block digest, computed the slow, obvious way. */
function blockDigest(content: Buffer): string {
  const h = createHash("sha256").update(`trainyard-blocks sha256 ${BLOCK} ${content.length}\n`);
  for (let off = 0; off < content.length; off += BLOCK) h.update(sha(content.subarray(off, off + BLOCK)));
  return `sha256-blocks-8m:${h.digest("hex")}`;
}

function write(name: string, size: number): { file: string; content: Buffer } {
  const content = Buffer.alloc(size);
  // Distinct blocks, so a block hashed twice or out of order changes the digest.
  for (let off = 0; off < size; off += 1 << 20) randomBytes(Math.min(1 << 20, size - off)).copy(content, off);
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return { file, content };
}

describe("file digests", () => {
  it("are the plain sha256 of files below the block threshold", async () => {
    for (const size of [0, 1, 300 * 1024, 5 * 1024 * 1024 + 7]) {
      const { file, content } = write(`plain-${size}`, size);
      expect(await hashFile(file)).toEqual({ digest: `sha256:${sha(content).toString("hex")}`, size });
    }
  });

  it(
    "are block digests, hashed in parallel, " + "from the threshold on: exact for whole and partial last blocks",
    async () => {
      for (const size of [BLOCKED_MIN, BLOCKED_MIN + 3 * BLOCK + 12_345]) {
        const { file, content } = write(`blocks-${size}`, size);
        const got = await hashFile(file);
        expect(got).toEqual({ digest: blockDigest(content), size });
        // A single changed byte anywhere changes it.
        content[size - 1] ^= 1;
        fs.writeFileSync(file, content);
        expect((await hashFile(file)).digest).not.toBe(got.digest);
      }
    },
  );
  it("cover the file as it is when it grew or shrank after its size was read", async () => {
    const { file, content } = write("changing", BLOCKED_MIN + BLOCK + 99);
    const exact = blockDigest(content);
    // Hashed as if fstat had seen it 3 blocks shorter (it grew) or 3 blocks longer (it shrank).
    expect(await hashBlocks(file, content.length - 3 * BLOCK)).toEqual({ digest: exact, size: content.length });
    expect(await hashBlocks(file, content.length + 3 * BLOCK)).toEqual({ digest: exact, size: content.length });
    // Exactly on a block boundary: no empty block is counted.
    fs.truncateSync(file, BLOCKED_MIN);
    expect(await hashBlocks(file, BLOCKED_MIN + 2 * BLOCK)).toEqual({
      digest: blockDigest(content.subarray(0, BLOCKED_MIN)),
      size: BLOCKED_MIN,
    });
  });

  it("are returned as values for small files, and cover the whole file whatever size the caller saw", async () => {
    const small = write("small.bin", 1000);
    const now = hashFileNow(small.file, 1000);
    expect(now).not.toBeInstanceOf(Promise);
    expect(now).toEqual({ digest: `sha256:${sha(small.content).toString("hex")}`, size: 1000 });
    // A stale size hint (the file was 3 bytes when the caller looked): still every byte.
    const grown = write("grown.bin", 3 << 20);
    expect(await hashFileNow(grown.file, 3)).toEqual({
      digest: `sha256:${sha(grown.content).toString("hex")}`,
      size: 3 << 20,
    });
    const shrunk = write("shrunk.bin", 10);
    expect(await hashFileNow(shrunk.file, 200_000)).toEqual({
      digest: `sha256:${sha(shrunk.content).toString("hex")}`,
      size: 10,
    });
  });

  it("name the file when it cannot be read", async () => {
    await expect(hashBlocks(path.join(dir, "missing"), BLOCKED_MIN)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("file system sync", () => {
  it("flushes the file system of an existing path, and reports failure for a missing one", async () => {
    const ok = new FileSystemSync(dir);
    const missing = new FileSystemSync(path.join(dir, "no", "such", "dir"));
    try {
      expect(await ok.sync()).toBe(true);
      expect(await ok.sync()).toBe(true);
      expect(await missing.sync()).toBe(false);
      // Once failed it stays off, so callers go straight to fsync per file.
      expect(await missing.sync()).toBe(false);
    } finally {
      ok.close();
      missing.close();
    }
  });
});
