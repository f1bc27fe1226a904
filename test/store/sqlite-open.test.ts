/**
 * Opening a damaged metadata database, with real files: garbage, a truncated database, a
 * zero-byte one, and a write-ahead log cut mid-frame from a process killed by SIGKILL.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { TrainyardError } from "../../src/core/errors.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { inspectWalTail } from "../../src/store/sqlite-wal-check.js";
import { cli } from "../cli/support.js";
import { REPO } from "../engine/support.js";
import { runRecord } from "./metadata-conformance.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-sqlite-open-"));
let n = 0;
const freshHome = () => {
  const dir = path.join(root, `home-${n++}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function openError(file: string): TrainyardError {
  try {
    new SqliteMetadataStore(file, { onWarning: () => undefined });
  } catch (err) {
    return err as TrainyardError;
  }
  throw new Error(`${file} opened without an error`);
}

function expectCorrupt(err: TrainyardError, file: string): void {
  expect(err).toBeInstanceOf(TrainyardError);
  expect(err.code).toBe("METADATA_CORRUPT");
  expect(err.message).toContain(file);
  expect(err.fields.file).toBe(file);
  expect(err.hint).toContain(".recover");
  expect(err.hint).toContain("backup");
  expect(err.hint).toContain("trainyard gc");
}

/** A real database of `runs` runs, closed cleanly (no log left). */
async function realDatabase(file: string, runs: number): Promise<void> {
  const store = new SqliteMetadataStore(file);
  for (let i = 0; i < runs; i++) {
    await store.createRun(runRecord(`run-${i}`, { params: { i, pad: "x".repeat(400) }, createdAt: 1000 + i }));
  }
  await store.close();
}

/** Runs r1..rN recorded by a child process that then dies by SIGKILL, leaving its log. */
function killedWriter(file: string, runs: number): void {
  const script = path.join(REPO, "test", "fixtures", "store", "write-runs-then-die.ts");
  const r = spawnSync(process.execPath, ["--import", "tsx", script, file, String(runs)], {
    cwd: REPO,
    encoding: "utf8",
  });
  expect(r.signal, r.stderr).toBe("SIGKILL");
  expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(32);
}

/** Cuts the log in the middle of its last frame (the last transaction's commit frame). */
function cutLastFrame(walFile: string): void {
  const pageSize = fs.readFileSync(walFile).readUInt32BE(8);
  const size = fs.statSync(walFile).size;
  expect((size - 32) % (24 + pageSize)).toBe(0);
  fs.truncateSync(walFile, size - Math.floor(pageSize / 2));
}

describe("opening a damaged metadata database", () => {
  it("names the file and how to recover when the database is garbage", () => {
    const file = path.join(freshHome(), "metadata.db");
    fs.writeFileSync(file, Buffer.alloc(16384, "garbage!"));
    expectCorrupt(openError(file), file);
  });

  it("names the file when a real database was truncated", async () => {
    const file = path.join(freshHome(), "metadata.db");
    await realDatabase(file, 300);
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    expectCorrupt(openError(file), file);
  });

  it("names the file when the schema page is damaged", async () => {
    const file = path.join(freshHome(), "metadata.db");
    await realDatabase(file, 10);
    const fd = fs.openSync(file, "r+");
    // Page 1 holds the schema's b-tree: its page header starts right after the 100-byte file header.
    fs.writeSync(fd, Buffer.alloc(400, 0xff), 0, 400, 100);
    fs.closeSync(fd);
    expectCorrupt(openError(file), file);
  });

  it("opens a zero-byte database as a fresh home", async () => {
    const file = path.join(freshHome(), "metadata.db");
    fs.writeFileSync(file, "");
    const store = new SqliteMetadataStore(file);
    expect(await store.listRuns({})).toEqual([]);
    await store.close();
  });

  it("`trainyard runs` on a garbage database exits non-zero with the file and the hint", async () => {
    const home = freshHome();
    fs.writeFileSync(path.join(home, "metadata.db"), Buffer.alloc(8192, "not sqlite"));
    const r = await cli(["runs"], home);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(path.join(home, "metadata.db"));
    expect(r.stderr).toContain(".recover");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe("a write-ahead log cut mid-frame", () => {
  it("says on open that the last transaction was discarded, and keeps the ones before it", async () => {
    const file = path.join(freshHome(), "metadata.db");
    killedWriter(file, 3);
    const intact = inspectWalTail(`${file}-wal`)!;
    expect(intact).toMatchObject({ uncommittedFrames: 0, tornBytes: 0 });
    cutLastFrame(`${file}-wal`);

    const warnings: string[] = [];
    const store = new SqliteMetadataStore(file, { onWarning: (m) => warnings.push(m) });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`${file}-wal`);
      expect(warnings[0]).toContain("discarded");
      expect((await store.listRuns({})).map((r) => r.id).sort()).toEqual(["r1", "r2"]);
    } finally {
      await store.close();
    }
  });

  it("stays quiet for a log a killed writer left whole", async () => {
    const file = path.join(freshHome(), "metadata.db");
    killedWriter(file, 3);
    const warnings: string[] = [];
    const store = new SqliteMetadataStore(file, { onWarning: (m) => warnings.push(m) });
    expect((await store.listRuns({})).map((r) => r.id).sort()).toEqual(["r1", "r2", "r3"]);
    await store.close();
    expect(warnings).toEqual([]);
  });

  it("says so when the last frame is whole but fails its checksum (a torn page)", async () => {
    const file = path.join(freshHome(), "metadata.db");
    killedWriter(file, 3);
    const wal = `${file}-wal`;
    const fd = fs.openSync(wal, "r+");
    fs.writeSync(fd, Buffer.from([0xa5]), 0, 1, fs.statSync(wal).size - 100);
    fs.closeSync(fd);
    const warnings: string[] = [];
    const store = new SqliteMetadataStore(file, { onWarning: (m) => warnings.push(m) });
    expect((await store.listRuns({})).map((r) => r.id).sort()).toEqual(["r1", "r2"]);
    await store.close();
    expect(warnings.join("\n")).toContain("discarded");
  });

  it("stays quiet about frames left over from before the log was restarted", async () => {
    const dir = freshHome();
    const file = path.join(dir, "metadata.db");
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (v TEXT)");
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 300; i++) insert.run("x".repeat(500));
    })();
    db.pragma("wal_checkpoint(RESTART)");
    insert.run("after the restart");
    // A copy taken while the connection is open: the log is not checkpointed away on close.
    const copy = path.join(freshHome(), "metadata.db");
    fs.copyFileSync(file, copy);
    fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
    db.close();
    expect(inspectWalTail(`${copy}-wal`)).toMatchObject({ uncommittedFrames: 0, tornBytes: 0 });
    const warnings: string[] = [];
    const store = new SqliteMetadataStore(copy, { onWarning: (m) => warnings.push(m) });
    expect(store.database.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 301 });
    await store.close();
    expect(warnings).toEqual([]);
  });

  it("leaves a log alone while a live connection owns it (Linux: /proc/locks)", async () => {
    const file = path.join(freshHome(), "metadata.db");
    killedWriter(file, 3);
    cutLastFrame(`${file}-wal`);
    // The live connection has replayed the log already; a later opener has nothing of its own to report.
    const live = new Database(file);
    live.prepare("SELECT count(*) FROM runs").get();
    const warnings: string[] = [];
    const store = new SqliteMetadataStore(file, { onWarning: (m) => warnings.push(m) });
    await store.close();
    live.close();
    expect(warnings).toEqual([]);
  });

  it("`trainyard runs` warns on stderr, naming the log, and lists what survived", async () => {
    const home = freshHome();
    const file = path.join(home, "metadata.db");
    killedWriter(file, 2);
    cutLastFrame(`${file}-wal`);
    const r = await cli(["runs"], home);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: the write-ahead log ${file}-wal`);
    expect(r.stdout).toContain("r1");
    expect(r.stdout).not.toContain("r2");
  });
});
