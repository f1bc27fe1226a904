import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { hashTree } from "../../src/store/file-hash.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { digestPath } from "../../src/store/stat-index.js";

const sha = (b: string | Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const hexOf = (digest: string) => digest.slice(digest.indexOf(":") + 1);

let dir: string;
let store: FsArtifactStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-fsstore-"));
  store = new FsArtifactStore(path.join(dir, "artifacts"));
});
afterEach(async () => {
  // A new store is still making its prefix directories in the background.
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(rel: string, content: string | Buffer, mode?: number): string {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  if (mode !== undefined) fs.chmodSync(p, mode);
  return p;
}

const isReadOnly = (p: string) => (fs.statSync(p).mode & 0o222) === 0;

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(root);
  return out;
}

describe("FsArtifactStore: content addressing", () => {
  it("fans objects out over at most sixteen directories, made only as objects need them", async () => {
    const objects = path.join(dir, "artifacts", "objects");
    const few = await Promise.all([0, 1, 2].map((i) => store.putBytes(Buffer.from(`object ${i}`))));
    expect(fs.readdirSync(objects).sort()).toEqual([...new Set(few.map((o) => hexOf(o.digest).slice(0, 1)))].sort());
    const many = [...few];
    for (let i = 3; i < 200; i++) many.push(await store.putBytes(Buffer.from(`object ${i}`)));
    expect(fs.readdirSync(objects).sort()).toEqual([...new Set(many.map((o) => hexOf(o.digest).slice(0, 1)))].sort());
    expect(fs.readdirSync(objects).length).toBeLessThanOrEqual(16);
    // Every object is where its digest says.
    for (const o of few)
      expect(fs.readFileSync(path.join(objects, hexOf(o.digest).slice(0, 1), hexOf(o.digest)), "utf8")).toMatch(
        /^object \d$/,
      );
  });

  it("keeps reading and writing a store made with two-digit fan-out in that layout", async () => {
    const root = path.join(dir, "legacy");
    const content = Buffer.from("stored by an earlier version");
    const digest = sha("stored by an earlier version");
    fs.mkdirSync(path.join(root, "objects", hexOf(digest).slice(0, 2)), { recursive: true });
    fs.writeFileSync(path.join(root, "objects", hexOf(digest).slice(0, 2), hexOf(digest)), content);
    const legacy = new FsArtifactStore(root);
    expect(await legacy.has(digest)).toBe(true);
    expect(fs.readFileSync(await legacy.pathOf(digest), "utf8")).toBe("stored by an earlier version");
    const added = await legacy.putBytes(Buffer.from("new content"));
    expect(added.path).toBe(path.join(root, "objects", hexOf(added.digest).slice(0, 2), hexOf(added.digest)));
    expect((await legacy.list()).sort()).toEqual([digest, added.digest].sort());
    await legacy.close();
  });

  it("addresses bytes by their sha256 and stores equal bytes once", async () => {
    const a = await store.putBytes(Buffer.from("hello"));
    const b = await store.putBytes(Buffer.from("hello"));
    const c = await store.putBytes(Buffer.from("hello!"));
    expect(a.digest).toBe(sha("hello"));
    expect(a.size).toBe(5);
    expect(b).toEqual(a);
    expect(c.digest).not.toBe(a.digest);
    expect(fs.readFileSync(a.path, "utf8")).toBe("hello");
    expect(await store.has(a.digest)).toBe(true);
    expect(await store.has(sha("never stored"))).toBe(false);
    expect(await store.pathOf(a.digest)).toBe(a.path);
    expect((await store.list()).sort()).toEqual([a.digest, c.digest].sort());
  });

  it("copies a file by default, leaving the source in place", async () => {
    const src = write("in/data.csv", "a,b\n1,2\n");
    const obj = await store.putFile(src);
    expect(obj.digest).toBe(sha("a,b\n1,2\n"));
    expect(obj.size).toBe(8);
    expect(fs.existsSync(src)).toBe(true);
    expect(fs.readFileSync(obj.path, "utf8")).toBe("a,b\n1,2\n");
  });

  it("moves a file with { move: true }, and a second move of equal content only removes the source", async () => {
    const src = write("work/model.bin", Buffer.from([1, 2, 3, 4]));
    const obj = await store.putFile(src, { move: true });
    expect(fs.existsSync(src)).toBe(false);
    expect(obj.digest).toBe(sha(Buffer.from([1, 2, 3, 4])));
    const again = write("work2/model.bin", Buffer.from([1, 2, 3, 4]));
    const obj2 = await store.putFile(again, { move: true });
    expect(obj2.digest).toBe(obj.digest);
    expect(fs.existsSync(again)).toBe(false);
    expect(await store.list()).toEqual([obj.digest]);
  });

  it("makes stored files read-only", async () => {
    const f = await store.putFile(write("x.txt", "x"));
    const b = await store.putBytes(Buffer.from("bytes"));
    expect(isReadOnly(f.path)).toBe(true);
    expect(isReadOnly(b.path)).toBe(true);
  });

  it("removes an object", async () => {
    const obj = await store.putBytes(Buffer.from("to remove"));
    await store.remove(obj.digest);
    expect(await store.has(obj.digest)).toBe(false);
    expect(await store.list()).toEqual([]);
  });
});

describe("FsArtifactStore: directories", () => {
  function makeTree(root: string, order: Array<[string, string]>): string {
    for (const [rel, content] of order) write(path.join(root, rel), content);
    return path.join(dir, root);
  }
  const files: Array<[string, string]> = [
    ["a.txt", "A"],
    ["sub/b.txt", "B"],
    ["sub/deeper/c.txt", "C"],
  ];

  it("gives equal trees the same digest whatever order they were written in", async () => {
    const t1 = makeTree("t1", files);
    const t2 = makeTree("t2", [...files].reverse());
    const d1 = await store.putDirectory(t1);
    const d2 = await store.putDirectory(t2);
    expect(d2.digest).toBe(d1.digest);
    expect(d1.size).toBe(3);
    expect(await store.list()).toEqual([d1.digest]);
    expect(fs.readFileSync(path.join(d1.path, "sub/deeper/c.txt"), "utf8")).toBe("C");
  });

  it("changes the digest when a file's content, name or executable bit changes", async () => {
    const base = (await hashTree(makeTree("base", files))).digest;
    expect((await hashTree(makeTree("content", [["a.txt", "a"], ...files.slice(1)]))).digest).not.toBe(base);
    expect((await hashTree(makeTree("renamed", [["a2.txt", "A"], ...files.slice(1)]))).digest).not.toBe(base);
    const exe = makeTree("exe", files);
    fs.chmodSync(path.join(exe, "a.txt"), 0o755);
    expect((await hashTree(exe)).digest).not.toBe(base);
  });

  it("moves a directory with { move: true }", async () => {
    const t = makeTree("moved", files);
    const obj = await store.putDirectory(t, { move: true });
    expect(fs.existsSync(t)).toBe(false);
    expect(fs.readFileSync(path.join(obj.path, "a.txt"), "utf8")).toBe("A");
  });

  it("makes the files of a stored directory read-only", async () => {
    const obj = await store.putDirectory(makeTree("ro", files));
    const stored = filesUnder(obj.path);
    expect(stored).toHaveLength(3);
    for (const f of stored) expect(isReadOnly(f), `${path.relative(obj.path, f)} should be read-only`).toBe(true);
  });
});

describe("FsArtifactStore: failures", () => {
  it("reports a missing source without leaving anything behind", async () => {
    await expect(store.putFile(path.join(dir, "does-not-exist"))).rejects.toThrow();
    expect(await store.list()).toEqual([]);
    expect(fs.readdirSync(path.join(dir, "artifacts", "tmp"))).toEqual([]);
  });

  it("sweeps temp files left behind by killed processes", async () => {
    const work = await store.makeWorkDir("step");
    const leftover = path.join(dir, "artifacts", "tmp", "leftover.1234");
    fs.writeFileSync(leftover, "partial");
    const old = new Date(Date.now() - 60_000);
    for (const p of [work, leftover]) fs.utimesSync(p, old, old);
    const fresh = path.join(dir, "artifacts", "tmp", "in-progress.5678");
    fs.writeFileSync(fresh, "still being written");
    expect(await store.sweepTemp(30_000)).toBe(2);
    expect(fs.readdirSync(path.join(dir, "artifacts", "tmp"))).toEqual(["in-progress.5678"]);
    fs.rmSync(fresh);
    expect(fs.readdirSync(path.join(dir, "artifacts", "tmp"))).toEqual([]);
  });
});

describe("stat index", () => {
  let meta: SqliteMetadataStore;
  beforeEach(() => {
    meta = new SqliteMetadataStore(path.join(dir, "metadata.db"));
  });
  afterEach(async () => {
    await meta.close();
  });

  it("hashes a file once and takes an unchanged file's digest from the index", async () => {
    const f = write("data/raw.csv", "x,y\n1,2\n");
    const first = await digestPath(meta, f);
    expect(first).toMatchObject({ digest: sha("x,y\n1,2\n"), fromIndex: false, isDirectory: false, size: 8 });
    const second = await digestPath(meta, f);
    expect(second).toMatchObject({ digest: first.digest, fromIndex: true });
  });

  it("does not read an unchanged file at all: the recorded digest is trusted", async () => {
    const f = write("data/raw.csv", "abc");
    await digestPath(meta, f);
    const entry = (await meta.getStat(path.resolve(f)))!;
    await meta.putStat({ ...entry, digest: `sha256:${"f".repeat(64)}` });
    expect((await digestPath(meta, f)).digest).toBe(`sha256:${"f".repeat(64)}`);
  });

  it("re-hashes a modified file", async () => {
    const f = write("data/raw.csv", "v1");
    const first = await digestPath(meta, f);
    fs.writeFileSync(f, "v2");
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(f, later, later);
    const second = await digestPath(meta, f);
    expect(second.fromIndex).toBe(false);
    expect(second.digest).toBe(sha("v2"));
    expect(second.digest).not.toBe(first.digest);
    expect((await digestPath(meta, f)).fromIndex).toBe(true);
  });

  it("re-hashes a file replaced by another of the same size and mtime (new inode)", async () => {
    const f = write("data/raw.csv", "aaaa");
    const st = fs.statSync(f);
    await digestPath(meta, f);
    const tmp = write("data/raw.tmp", "bbbb");
    fs.utimesSync(tmp, st.atime, st.mtime);
    fs.renameSync(tmp, f);
    const again = await digestPath(meta, f);
    expect(again.digest).toBe(sha("bbbb"));
  });

  it("digests a directory like the artifact store does", async () => {
    write("tree/a.txt", "A");
    write("tree/b/c.txt", "C");
    const d = await digestPath(meta, path.join(dir, "tree"));
    expect(d.isDirectory).toBe(true);
    expect(d.digest).toBe((await store.putDirectory(path.join(dir, "tree"))).digest);
  });

  it("names the file and the step when the path does not exist", async () => {
    const missing = path.join(dir, "nope.csv");
    await expect(digestPath(meta, missing, { step: "ingest" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining(missing),
    });
    await expect(digestPath(meta, missing, { step: "ingest" })).rejects.toThrow(/ingest/);
  });
});
