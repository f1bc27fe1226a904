/**
 * The ArtifactStore conformance suite: every backend runs it through a harness that opens stores
 * on one backing store (each with its own local state: a remote store's fresh cache), damages a
 * stored object behind the store's back, and, for a server, restarts it.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Digest } from "../../src/core/digest-format.js";
import { shortDigest } from "../../src/core/hash.js";
import type { ArtifactStore } from "../../src/store/artifact-store.js";
import { hashFile, hashTree } from "../../src/store/file-hash.js";
import { unpackTree } from "../../src/store/object-archive.js";
import { ObjectVerifier } from "../../src/store/object-verifier.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";

export interface StoreHarness {
  /** A store on the same backing data with its own local state (for a remote store: a new, empty cache). */
  open(): Promise<ArtifactStore>;
  /** Replaces the stored bytes of `digest` with other bytes, behind the store's back. */
  corrupt(digest: string): Promise<void>;
  /** Stops and starts the store's server, keeping its data (only for stores behind a server). */
  restartServer?(): Promise<void>;
  close(): Promise<void>;
}

const errorCode = (err: unknown) => (err as { code?: string }).code;

export function describeArtifactStoreConformance(
  name: string,
  makeHarness: () => Promise<StoreHarness>,
  opts: { server?: boolean } = {},
): void {
  describe(`ArtifactStore conformance: ${name}`, () => {
    let harness: StoreHarness;
    let store: ArtifactStore;
    let scratch: string;
    let metadata: SqliteMetadataStore;
    const opened: ArtifactStore[] = [];
    const reopen = async () => {
      const s = await harness.open();
      opened.push(s);
      return s;
    };

    beforeAll(async () => {
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), "ty-conformance-"));
      metadata = new SqliteMetadataStore(path.join(scratch, "metadata.db"));
      harness = await makeHarness();
      store = await reopen();
    });
    afterAll(async () => {
      for (const s of opened) await s.close?.();
      await metadata?.close();
      await harness?.close();
      fs.rmSync(scratch, { recursive: true, force: true });
    });

    const file = (name: string, content: string | Buffer, mode = 0o644) => {
      const p = path.join(scratch, `${name}-${randomBytes(4).toString("hex")}`);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content, { mode });
      return p;
    };

    it("round-trips bytes: has, stat, getLocal and stream give them back", async () => {
      const bytes = Buffer.from(`bytes ${randomBytes(8).toString("hex")}`);
      const obj = await store.putBytes(bytes);
      expect(obj.digest).toBe(sha256Digest(bytes));
      expect(obj.size).toBe(bytes.length);
      expect(await store.has(obj.digest)).toBe(true);
      expect((await store.stat(obj.digest))?.size).toBe(bytes.length);
      const other = await reopen();
      expect(fs.readFileSync(await other.getLocal(obj.digest))).toEqual(bytes);
      expect(await text(await other.stream(obj.digest))).toBe(bytes.toString());
    });

    it("round-trips a file, keeping the source unless it is consumed", async () => {
      const content = `file ${randomBytes(8).toString("hex")}`;
      const source = file("kept", content);
      const obj = await store.putFile(source);
      expect(fs.readFileSync(source, "utf8")).toBe(content);
      expect(obj.digest).toBe((await hashFile(source)).digest);
      const consumed = file("consumed", content);
      expect((await store.putFile(consumed, { consume: true })).digest).toBe(obj.digest);
      const other = await reopen();
      expect(fs.readFileSync(await other.getLocal(obj.digest), "utf8")).toBe(content);
    });

    it("round-trips a directory with its relative paths, modes and contents", async () => {
      const dir = path.join(scratch, `tree-${randomBytes(4).toString("hex")}`);
      fs.mkdirSync(path.join(dir, "nested", "deeper"), { recursive: true });
      fs.writeFileSync(path.join(dir, "top.txt"), "top");
      fs.writeFileSync(path.join(dir, "nested", "deeper", "leaf.json"), '{"a":1}');
      fs.writeFileSync(path.join(dir, "nested", "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
      fs.writeFileSync(path.join(dir, "empty"), "");
      const expected = await hashTree(dir);
      const obj = await store.putDirectory(dir);
      expect(obj.digest).toBe(expected.digest);
      expect((await store.stat(obj.digest))?.isDirectory).toBe(true);
      const other = await reopen();
      const local = await other.getLocal(obj.digest);
      expect((await hashTree(local)).digest).toBe(expected.digest);
      expect(fs.readFileSync(path.join(local, "nested", "deeper", "leaf.json"), "utf8")).toBe('{"a":1}');
      expect(fs.statSync(path.join(local, "nested", "run.sh")).mode & 0o111).not.toBe(0);
      expect(fs.statSync(path.join(local, "top.txt")).mode & 0o111).toBe(0);
      // The stream is an archive of the same tree.
      const unpacked = path.join(scratch, `unpacked-${randomBytes(4).toString("hex")}`);
      await unpackTree(await other.stream(obj.digest), unpacked);
      expect((await hashTree(unpacked)).digest).toBe(expected.digest);
    });

    it("stores empty objects: no bytes, an empty file, an empty directory", async () => {
      const none = await store.putBytes(new Uint8Array(0));
      expect(none.size).toBe(0);
      const emptyFile = await store.putFile(file("empty", ""));
      const emptyDir = path.join(scratch, `empty-dir-${randomBytes(4).toString("hex")}`);
      fs.mkdirSync(emptyDir);
      const dirObj = await store.putDirectory(emptyDir);
      const other = await reopen();
      expect(fs.readFileSync(await other.getLocal(none.digest)).length).toBe(0);
      expect(fs.readFileSync(await other.getLocal(emptyFile.digest)).length).toBe(0);
      expect(fs.readdirSync(await other.getLocal(dirObj.digest))).toEqual([]);
    });

    it("round-trips a large object (> 64 MiB, block digest, multipart upload)", async () => {
      const mib = randomBytes(1024 * 1024);
      const source = path.join(scratch, "large.bin");
      const fd = fs.openSync(source, "w");
      for (let i = 0; i < 65; i++) {
        mib.writeUInt32LE(i, 0);
        fs.writeSync(fd, mib);
      }
      fs.closeSync(fd);
      const expected = await hashFile(source);
      const obj = await store.putFile(source);
      expect(obj.digest).toBe(expected.digest);
      expect(obj.size).toBe(65 * 1024 * 1024);
      const other = await reopen();
      const local = await other.getLocal(obj.digest);
      expect(fs.statSync(local).size).toBe(65 * 1024 * 1024);
      expect((await hashFile(local)).digest).toBe(expected.digest);
      fs.rmSync(source, { force: true });
    }, 120_000);

    it("lists and deletes objects; a deleted object is gone for every reader", async () => {
      const a = await store.putBytes(Buffer.from(`a ${randomBytes(8).toString("hex")}`));
      const b = await store.putBytes(Buffer.from(`b ${randomBytes(8).toString("hex")}`));
      const listed = await store.list();
      expect(listed).toEqual(expect.arrayContaining([a.digest, b.digest]));
      await store.delete(a.digest);
      expect(await store.has(a.digest)).toBe(false);
      expect(await store.stat(a.digest)).toBeUndefined();
      expect(await store.list()).not.toContain(a.digest);
      expect(await store.has(b.digest)).toBe(true);
      const other = await reopen();
      await expect(other.getLocal(a.digest)).rejects.toSatisfy((e) => errorCode(e) === "ARTIFACT_MISSING");
    });

    it("puts the same content twice, and many times at once, as one object", async () => {
      const content = `same ${randomBytes(8).toString("hex")}`;
      const first = await store.putBytes(Buffer.from(content));
      const again = await store.putFile(file("same", content));
      expect(again.digest).toBe(first.digest);
      const racing = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const s = i % 2 ? store : await reopen();
          return i % 3 ? s.putFile(file(`race${i}`, content)) : s.putBytes(Buffer.from(content));
        }),
      );
      expect(new Set(racing.map((o) => o.digest))).toEqual(new Set([first.digest]));
      expect((await store.list()).filter((d) => d === first.digest)).toHaveLength(1);
      const other = await reopen();
      expect(fs.readFileSync(await other.getLocal(first.digest), "utf8")).toBe(content);
    });

    it("detects a corrupted object when it is read, and does not hand it out", async () => {
      const content = `precious ${randomBytes(16).toString("hex")}`;
      const obj = await store.putFile(file("precious", content));
      await harness.corrupt(obj.digest);
      const reader = await reopen();
      const verifier = new ObjectVerifier(reader, metadata);
      await expect(verifier.verify(obj.digest, { use: "a conformance read" })).rejects.toSatisfy(
        (e) => errorCode(e) === "ARTIFACT_CORRUPT" && String((e as Error).message).includes(shortDigest(obj.digest)),
      );
    });

    it("says clearly that a missing object is missing", async () => {
      const digest = sha256Digest(`never stored ${randomBytes(8).toString("hex")}`);
      expect(await store.has(digest)).toBe(false);
      const err = await store.getLocal(digest).catch((e: unknown) => e);
      expect(errorCode(err)).toBe("ARTIFACT_MISSING");
      expect(String((err as Error).message)).toContain(shortDigest(digest));
    });

    it("keeps log copies by name, apart from the artifacts, for every reader; lists and removes them", async () => {
      const copies = store.logCopies!;
      const run = `run-${randomBytes(4).toString("hex")}`;
      // Over 11 MiB: more than some servers take in one request (fauxqs), so it may go in parts.
      const large = randomBytes(12 * 1024 * 1024);
      await copies.put(`${run}/talk.1.log.gz`, file("log", large));
      await copies.put(`${run}/talk.2.log.gz`, file("log", "first"));
      await copies.put(`${run}/talk.2.log.gz`, file("log", "second"));
      const other = (await reopen()).logCopies!;
      const bytes = async (name: string) => {
        const stream = await other.open(name);
        return stream && Buffer.concat(await stream.toArray());
      };
      expect((await bytes(`${run}/talk.1.log.gz`))?.equals(large)).toBe(true);
      expect((await bytes(`${run}/talk.2.log.gz`))?.toString()).toBe("second");
      expect(await other.open(`${run}/talk.3.log.gz`)).toBeUndefined();
      // Bytes as well as files (a growing log's live parts), removed by name; a missing name is no error.
      const parts = [`${run}/talk.4.log.gz.live-0`, `${run}/talk.4.log.gz.live-5`];
      await copies.put(parts[0], Buffer.from("part0"));
      await copies.put(parts[1], Buffer.from("part1"));
      expect((await bytes(parts[1]))?.toString()).toBe("part1");
      await other.remove([...parts, `${run}/talk.4.log.gz.live-10`]);
      expect(await bytes(parts[0])).toBeUndefined();
      expect(await bytes(parts[1])).toBeUndefined();
      expect((await bytes(`${run}/talk.2.log.gz`))?.toString()).toBe("second");
      // Not artifacts: the store's listing (what gc and fsck walk) does not name them.
      expect((await store.list()).some((d) => d.includes("talk"))).toBe(false);
      // Each run directory with the time of its newest copy (gc removes those of unrecorded runs).
      const dirs = await other.dirs();
      expect(Math.abs(dirs.get(run)! - Date.now())).toBeLessThan(5 * 60_000);
      expect(await other.removeDirs([run, "no-such-run"])).toBe(1);
      expect((await other.dirs()).has(run)).toBe(false);
      expect(await copies.open(`${run}/talk.1.log.gz`)).toBeUndefined();
      expect(await bytes(`${run}/talk.2.log.gz`)).toBeUndefined();
    });

    // A store with no server (the fs backend) has nothing to restart.
    if (opts.server)
      it("keeps its data across a restart of its server", async () => {
        const bytes = Buffer.from(`durable ${randomBytes(8).toString("hex")}`);
        const obj = await store.putBytes(bytes);
        await harness.restartServer!();
        const other = await reopen();
        expect(await other.has(obj.digest)).toBe(true);
        expect(fs.readFileSync(await other.getLocal(obj.digest))).toEqual(bytes);
        // The store opened before the restart still works once the server is back.
        const after = await store.putBytes(Buffer.from(`after ${randomBytes(8).toString("hex")}`));
        expect(await store.has(after.digest)).toBe(true);
      });
  });
}
