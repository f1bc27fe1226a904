/**
 * copyHashed: the digest of a copy made in one read is the digest file-hash.ts gives the copy,
 * in both schemes and at every block boundary, and a source that changes while it is copied is
 * reported as changed.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SHA256, SHA256_BLOCKS } from "../../src/core/digest-format.js";
import { BLOCK, BLOCKED_MIN, hashFileAs, hashFileNow } from "../../src/store/file-hash.js";
import { copyHashed } from "../../src/store/hashed-copy.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-hashed-copy-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("copyHashed", () => {
  const sizes = [0, 1, 300_000, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, BLOCKED_MIN, BLOCKED_MIN + 12_345];
  it.each(sizes)("copies %i bytes and names them as the store's hash does", async (size) => {
    const source = path.join(root, `source-${size}`);
    const bytes = randomBytes(size);
    fs.writeFileSync(source, bytes);
    const dest = path.join(root, `copy-${size}`);
    const copy = await copyHashed(source, dest);
    expect(copy.changed).toBe(false);
    expect(copy.size).toBe(size);
    expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
    expect(copy.digest).toBe((await hashFileNow(dest)).digest);
    expect(copy.digest.startsWith(size >= BLOCKED_MIN ? `${SHA256_BLOCKS}:` : `${SHA256}:`)).toBe(true);
  });

  it("gives the digest in a scheme asked for, whatever the size", async () => {
    const source = path.join(root, "schemes");
    fs.writeFileSync(source, randomBytes(BLOCK + 77));
    for (const scheme of [SHA256, SHA256_BLOCKS] as const) {
      const copy = await copyHashed(source, path.join(root, `schemes-${scheme}`), scheme);
      expect(copy.digest).toBe((await hashFileAs(source, scheme)).digest);
    }
  });

  it("reports a source whose length is not what it had when opened", async () => {
    // /proc/uptime stats as 0 bytes and reads as some: the copy is not of the file that was opened.
    const copy = await copyHashed("/proc/uptime", path.join(root, "uptime"));
    expect(copy.size).toBeGreaterThan(0);
    expect(copy.changed).toBe(true);
  });

  it("reports a source written to while it is copied", async () => {
    const source = path.join(root, "growing");
    fs.writeFileSync(source, randomBytes(4 * BLOCK));
    // Appended to once the copy has begun (its copy exists) and before it ends: its reads and writes
    // take many turns of the event loop, and these appends take none.
    const dest = path.join(root, "growing-copy");
    const copying = copyHashed(source, dest);
    while (!fs.existsSync(dest)) await new Promise((turn) => setImmediate(turn));
    const fd = fs.openSync(source, "a");
    for (let i = 0; i < 64; i++) fs.writeSync(fd, randomBytes(64 * 1024));
    fs.closeSync(fd);
    expect((await copying).changed).toBe(true);
  });

  it("fails on a missing source and leaves no copy", async () => {
    const dest = path.join(root, "never");
    await expect(copyHashed(path.join(root, "missing"), dest)).rejects.toMatchObject({ code: "ENOENT" });
    expect(fs.existsSync(dest)).toBe(false);
  });
});
