/**
 * Write failures of the fs artifact store. A full disk cannot be produced portably in a test, so
 * the file system calls the store makes are wrapped to fail on demand the way a full disk does
 * (ENOSPC), after writing part of the data.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const faults = vi.hoisted(() => ({ copyFile: false, mkdir: false }));

vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  const enospc = () =>
    Object.assign(new Error("ENOSPC: no space left on device, write"), {
      code: "ENOSPC",
      errno: -28,
      syscall: "write",
    });
  return {
    ...actual,
    default: actual,
    copyFile: async (src: fs.PathLike, dest: fs.PathLike, mode?: number) => {
      if (!faults.copyFile) return actual.copyFile(src, dest, mode);
      const data = await actual.readFile(src);
      await actual.writeFile(dest, data.subarray(0, Math.floor(data.length / 2)));
      throw enospc();
    },
    mkdir: async (p: fs.PathLike, opts?: fs.MakeDirectoryOptions) => {
      if (faults.mkdir && String(p).includes(`${path.sep}objects${path.sep}`))
        throw Object.assign(new Error("ENOSPC: no space left on device, mkdir"), { code: "ENOSPC" });
      return actual.mkdir(p, opts as never);
    },
  };
});

const { FsArtifactStore } = await import("../../src/store/fs-artifact-store.js");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-fswrite-"));
});
afterEach(() => {
  faults.copyFile = false;
  faults.mkdir = false;
  fs.rmSync(dir, { recursive: true, force: true });
});

type Thrown = { code?: string; message: string; hint?: string; fields?: Record<string, unknown> };
const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Thrown,
  );

describe("FsArtifactStore write errors", () => {
  it(
    "turns a disk-full failure mid-copy into ARTIFACT_WRITE with a hint, " + "leaving no partial object or temp file",
    async () => {
      const store = new FsArtifactStore(path.join(dir, "artifacts"));
      const src = path.join(dir, "big.bin");
      fs.writeFileSync(src, Buffer.alloc(10_000, 7));
      const digest = `sha256:${createHash("sha256").update(Buffer.alloc(10_000, 7)).digest("hex")}`;
      faults.copyFile = true;
      const err = await caught(store.putFile(src));
      expect(err?.code).toBe("ARTIFACT_WRITE");
      expect(err?.message).toContain(src);
      expect(err?.hint).toMatch(/disk is full/);
      expect(err?.hint).toMatch(/gc/);
      expect(await store.has(digest)).toBe(false);
      expect(await store.list()).toEqual([]);
      expect(fs.readdirSync(path.join(dir, "artifacts", "tmp"))).toEqual([]);
      expect(fs.existsSync(src)).toBe(true);

      faults.copyFile = false;
      const ok = await store.putFile(src);
      expect(ok.digest).toBe(digest);
      expect(fs.statSync(ok.path).size).toBe(10_000);
      await store.close();
    },
  );

  it("reports a disk-full failure while creating the object's directory as ARTIFACT_WRITE too", async () => {
    const store = new FsArtifactStore(path.join(dir, "artifacts"));
    await store.list(); // creates objects/ and tmp/ before the fault is armed
    const objects = path.join(dir, "artifacts", "objects");
    const src = path.join(dir, "small.txt");
    fs.writeFileSync(src, "small");
    // A new store makes an object's prefix directory with the object, and making it fails.
    expect(fs.existsSync(path.join(objects, createHash("sha256").update("small").digest("hex").slice(0, 2)))).toBe(
      false,
    );
    faults.mkdir = true;
    const err = await caught(store.putFile(src));
    expect(err?.code).toBe("ARTIFACT_WRITE");
    expect(err?.hint).toMatch(/disk is full/);
    await store.close();
  });
});
