import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, describe, expect, it } from "vitest";
import {
  BLOCKED_MIN,
  digestOfBytes,
  formatDigest,
  hashFile,
  hashTree,
  isDigest,
  parseDigest,
  StreamingDigest,
  verifyBytes,
  verifyFile,
  VerifyingStream,
} from "../../src/store/digest.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-digest-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const BLOCK = 8 * 1024 * 1024;

/** docs/digests.md's sha256-blocks-8m, written out from the text rather than the code. */
function documentedBlockDigest(content: Buffer): string {
  const outer = createHash("sha256").update(`trainyard-blocks sha256 ${BLOCK} ${content.length}\n`);
  for (let off = 0; off < Math.max(1, content.length); off += BLOCK) {
    outer.update(
      createHash("sha256")
        .update(content.subarray(off, off + BLOCK))
        .digest(),
    );
  }
  return `sha256-blocks-8m:${outer.digest("hex")}`;
}

function write(name: string, content: Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

describe("self-describing digests", () => {
  it("parse and format as <scheme>:<hex>, and refuse bare legacy hex and unknown schemes", () => {
    const hex = "ab".repeat(32);
    expect(parseDigest(`sha256-blocks-8m:${hex}`)).toEqual({ scheme: "sha256-blocks-8m", hex });
    expect(formatDigest("sha256-tree", hex.toUpperCase())).toBe(`sha256-tree:${hex}`);
    expect(isDigest(`sha256:${hex}`)).toBe(true);
    expect(isDigest(hex)).toBe(false);
    expect(() => parseDigest(hex)).toThrow(expect.objectContaining({ code: "DIGEST_INVALID" }));
    expect(() => parseDigest(`md5:${hex}`)).toThrow(/not a digest/);
    expect(() => formatDigest("sha256", "xyz")).toThrow(expect.objectContaining({ code: "DIGEST_INVALID" }));
  });

  it("name sha256 for what sha256sum prints of a file below 64 MiB", async () => {
    const content = randomBytes(3 * 1024 * 1024 + 5);
    const file = write("plain.bin", content);
    const printed = execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0];
    expect((await hashFile(file)).digest).toBe(`sha256:${printed}`);
    expect(digestOfBytes(content)).toBe(`sha256:${printed}`);
    await verifyFile(file, `sha256:${printed}`);
  });

  it("name the block scheme for files of 64 MiB and more; streaming and file hashing agree", async () => {
    const content = Buffer.alloc(BLOCKED_MIN + BLOCK + 77);
    for (let off = 0; off < content.length; off += 1 << 20) randomBytes(1 << 20).copy(content, off);
    const file = write("large.bin", content);
    const expected = documentedBlockDigest(content);
    expect((await hashFile(file)).digest).toBe(expected);
    // Chunks that straddle block boundaries.
    const streamed = new StreamingDigest("sha256-blocks-8m");
    for (let off = 0; off < content.length; off += 3_000_001) streamed.update(content.subarray(off, off + 3_000_001));
    expect(streamed.digest()).toBe(expected);
    expect(await verifyFile(file, expected)).toBe(content.length);
    // The same bytes under the other scheme are a mismatch, not a match by size.
    await expect(verifyFile(file, `sha256:${"0".repeat(64)}`)).rejects.toMatchObject({ code: "ARTIFACT_CORRUPT" });
    expect(digestOfBytes(Buffer.alloc(0), "sha256-blocks-8m")).toBe(documentedBlockDigest(Buffer.alloc(0)));
  });

  it("name the tree scheme for directories, over paths, modes and file hex", async () => {
    const root = path.join(dir, "tree");
    write("tree/b.txt", Buffer.from("bee"));
    write("tree/sub/a.sh", Buffer.from("#!/bin/sh\n"));
    fs.chmodSync(path.join(root, "sub/a.sh"), 0o755);
    const hex = (s: string) => createHash("sha256").update(s).digest("hex");
    const manifest = `b.txt\t644\t${hex("bee")}\nsub/a.sh\t755\t${hex("#!/bin/sh\n")}\n`;
    const expected = `sha256-tree:${hex(`tree\n${manifest}`)}`;
    expect((await hashTree(root)).digest).toBe(expected);
    await verifyFile(root, expected);
    await expect(verifyFile(path.join(root, "b.txt"), expected)).rejects.toMatchObject({ code: "ARTIFACT_CORRUPT" });
    fs.writeFileSync(path.join(root, "b.txt"), "bed");
    await expect(verifyFile(root, expected)).rejects.toMatchObject({
      code: "ARTIFACT_CORRUPT",
      fields: { digest: expected },
    });
  });

  it("verify bytes and streams, failing with the object named on a single changed byte", async () => {
    const bytes = randomBytes(100_000);
    const digest = digestOfBytes(bytes);
    verifyBytes(bytes, digest);
    bytes[5] ^= 1;
    expect(() => verifyBytes(bytes, digest, { file: "s3://b/k" })).toThrow(/s3:\/\/b\/k does not match/);
    bytes[5] ^= 1;
    const out = path.join(dir, "streamed.bin");
    await pipeline(
      Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]),
      new VerifyingStream(digest),
      fs.createWriteStream(out),
    );
    expect(fs.readFileSync(out).equals(bytes)).toBe(true);
    bytes[99_999] ^= 1;
    await expect(
      pipeline(Readable.from([bytes]), new VerifyingStream(digest, { file: "s3://b/k" }), fs.createWriteStream(out)),
    ).rejects.toMatchObject({ code: "ARTIFACT_CORRUPT", fields: { file: "s3://b/k" } });
    await expect(verifyFile(path.join(dir, "nothing"), digest)).rejects.toMatchObject({ code: "ARTIFACT_MISSING" });
  });
});
