/**
 * The object cache of an S3 store stays within its bound (local-object-cache.ts): past it, the least
 * recently used objects go, except those used since the oldest run or step under way began
 * or within the idle time; a removed object comes back, verified, from the object store when next
 * read. Before, the cache kept every object it ever saw, and a worker left running filled its disk.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256Digest } from "../../src/core/digest-format.js";
import { beginWork, oldestWorkStart } from "../../src/core/work-in-progress.js";
import { pipeline } from "../../src/index.js";
import { validateConfig } from "../../src/engine/config-schema.js";
import { LocalObjectCache } from "../../src/store/local-object-cache.js";
import { S3ArtifactStore } from "../../src/store/s3-artifact-store.js";
import { runPipeline } from "../../src/testing/index.js";
import { waitFor } from "../engine/support.js";
import { type S3Emulator, startS3rver } from "../support/s3.js";

const MiB = 1024 * 1024;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-cache-bound-"));
const emulators: S3Emulator[] = [];
afterAll(async () => {
  await Promise.all(emulators.map((e) => e.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

let caches = 0;
/** Five objects of 1 MiB, o1 used 50 minutes ago, o2 40, ... o5 10; the cache's directory. */
async function fiveObjects(): Promise<{ dir: string; digests: string[] }> {
  const dir = path.join(root, `cache-${++caches}`);
  const filler = new LocalObjectCache(dir, { maxBytes: 100 * MiB });
  const digests: string[] = [];
  for (let i = 0; i < 5; i++) {
    const bytes = randomBytes(MiB);
    const source = path.join(root, `o${caches}-${i}`);
    fs.writeFileSync(source, bytes);
    const digest = sha256Digest(bytes);
    await filler.add(source, digest, { consume: true });
    const usedAt = new Date(Date.now() - (5 - i) * 10 * 60_000);
    fs.utimesSync(path.join(dir, digest), usedAt, usedAt);
    digests.push(digest);
  }
  return { dir, digests };
}

const held = (dir: string, digests: string[]) => digests.map((d) => fs.existsSync(path.join(dir, d)));

describe("the object cache's bound", () => {
  it("removes the least recently used objects down to nine tenths of the bound; a read counts as a use", async () => {
    const { dir, digests } = await fiveObjects();
    const cache = new LocalObjectCache(dir, { maxBytes: 3 * MiB, minIdleMs: 0 });
    const old = new Date(Date.now() - 3600_000);
    fs.writeFileSync(path.join(dir, "notes.txt"), "a file someone left here");
    fs.utimesSync(path.join(dir, "notes.txt"), old, old);
    expect(await cache.lookup(digests[0])).toBe(path.join(dir, digests[0]));
    const trim = await cache.trim();
    expect(trim).toEqual({ before: 5 * MiB, after: 2 * MiB, removed: 3, maxBytes: 3 * MiB });
    expect(held(dir, digests)).toEqual([true, false, false, false, true]);
    // The staging area and a file that is not an object stay.
    expect(fs.existsSync(path.join(dir, ".tmp"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "notes.txt"))).toBe(true);
  });

  it("keeps objects used within the idle time, whatever the bound", async () => {
    const { dir, digests } = await fiveObjects();
    const cache = new LocalObjectCache(dir, { maxBytes: 1 * MiB, minIdleMs: 25 * 60_000 });
    const trim = await cache.trim();
    expect(trim).toMatchObject({ after: 2 * MiB, removed: 3 });
    expect(held(dir, digests)).toEqual([false, false, false, true, true]);
  });

  it("keeps what a step running in this process used since it began", async () => {
    const { dir, digests } = await fiveObjects();
    const cache = new LocalObjectCache(dir, { maxBytes: 1 * MiB, minIdleMs: 0 });
    const ended = beginWork();
    try {
      await new Promise((r) => setTimeout(r, 20));
      await cache.lookup(digests[1]);
      await cache.trim();
      expect(held(dir, digests)).toEqual([false, true, false, false, false]);
    } finally {
      ended();
    }
    await cache.trim();
    expect(held(dir, digests)).toEqual([false, false, false, false, false]);
  });

  it("counts a step running in this process as work under way, from before its inputs are read", async () => {
    const p = pipeline("work-under-way");
    let seen: number | undefined;
    const before = Date.now();
    const first = p.step("first", { run: () => 1 });
    p.step("look", { inputs: { x: first }, run: (_ctx, { x }) => ((seen = oldestWorkStart()), x) });
    const t = await runPipeline(p);
    try {
      expect(t.result.status).toBe("succeeded");
      expect(seen).toBeGreaterThanOrEqual(before);
      expect(oldestWorkStart()).toBeUndefined();
    } finally {
      await t.cleanup();
    }
  });

  it("trims by itself once an object admitted takes it past the bound", async () => {
    const dir = path.join(root, "admitting");
    const cache = new LocalObjectCache(dir, { maxBytes: 2 * MiB, minIdleMs: 0 });
    for (let i = 0; i < 4; i++) {
      const bytes = randomBytes(MiB);
      const source = path.join(root, `admit-${i}`);
      fs.writeFileSync(source, bytes);
      await cache.add(source, sha256Digest(bytes), { consume: true });
    }
    const objects = () => fs.readdirSync(dir).filter((n) => !n.startsWith("."));
    await waitFor(() => objects().length <= 2, "the cache to trim itself within 2 MiB");
  });
});

describe("an S3 store's bounded cache", () => {
  it("reads a removed object back from the object store, verified", async () => {
    const emulator = await startS3rver(path.join(root, "s3rver"));
    emulators.push(emulator);
    const store = new S3ArtifactStore({
      url: `s3://${emulator.bucket}/bound`,
      endpoint: emulator.endpoint,
      credentials: emulator.credentials,
      cacheDir: path.join(root, "s3-cache"),
      cacheMax: "2MiB",
    });
    try {
      const files = [0, 1, 2].map((i) => {
        const bytes = randomBytes(MiB);
        const file = path.join(root, `put-${i}`);
        fs.writeFileSync(file, bytes);
        return { file, bytes };
      });
      const stored = [];
      for (const f of files) stored.push(await store.putFile(f.file));
      // Just stored, each is kept for the idle time; an hour later they may go.
      const hourAgo = new Date(Date.now() - 3600_000);
      for (const s of stored) fs.utimesSync(store.localPath(s.digest), hourAgo, hourAgo);
      const trim = await store.cache.trim();
      expect(trim.after).toBeLessThanOrEqual(0.9 * 2 * MiB);
      const gone = stored.filter((s) => !fs.existsSync(store.localPath(s.digest)));
      expect(gone.length).toBeGreaterThan(0);
      const gets = store.requests.count("GetObjectCommand");
      const back = await store.getLocal(gone[0].digest);
      expect(store.requests.count("GetObjectCommand")).toBeGreaterThan(gets);
      const original = files[stored.indexOf(gone[0])].bytes;
      expect(fs.readFileSync(back).equals(original)).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);

  it("refuses a bound that is not a size, naming the field or the variable", () => {
    const config = (cacheMax: unknown) =>
      validateConfig({ artifacts: { kind: "s3", url: "s3://b/p", cacheMax } }, "/p/trainyard.config.ts");
    expect(config("20GiB").artifacts).toMatchObject({ cacheMax: "20GiB" });
    expect(() => config("lots")).toThrow(/artifacts\.cacheMax: must be a size such as "20GiB"/);
    expect(() => config(-1)).toThrow(/artifacts\.cacheMax/);
    const previous = process.env.TRAINYARD_OBJECT_CACHE_MAX;
    process.env.TRAINYARD_OBJECT_CACHE_MAX = "half the disk";
    try {
      expect(() => new S3ArtifactStore({ url: "s3://b/p", cacheDir: path.join(root, "env") })).toThrow(
        /TRAINYARD_OBJECT_CACHE_MAX="half the disk" is not a size/,
      );
    } finally {
      if (previous === undefined) delete process.env.TRAINYARD_OBJECT_CACHE_MAX;
      else process.env.TRAINYARD_OBJECT_CACHE_MAX = previous;
    }
  });
});
