/**
 * File sensor evaluation on real files with an injected clock: each file's mtime is pinned to
 * that clock with utimes, so "stable for the settle interval" does not depend on how fast this
 * machine runs. The cursor goes through JSON between evaluations, as the daemon stores it.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledFileSensor, type FileSensorSpec } from "../../src/core/triggers.js";
import { evaluateFileSensor, type FileSensorCursor, type FileSensorEvaluation } from "../../src/daemon/file-sensor.js";
import { localLandingFolder, type LandingSource } from "../../src/daemon/landing-folder.js";
import { waitForFolderChange } from "../../src/daemon/folder-watch.js";

const sha = (bytes: string | Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

let dir: string;
let landing: string;
/** The sensor's clock: starts well after every mtime the test sets as "old". */
let clock: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-sensor-"));
  landing = path.join(dir, "landing");
  fs.mkdirSync(landing);
  clock = Math.floor(Date.now() / 1000) * 1000;
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function sensor(spec: Partial<FileSensorSpec<Record<string, never>>> = {}): CompiledFileSensor {
  const p = pipeline("sense").sensor("landing", { folder: landing, settle: 1000, debounce: 0, ...spec });
  return compileTriggers(p)[0] as CompiledFileSensor;
}

/** Writes (or appends to) a file and pins its mtime to the sensor clock, or to `mtime`. */
function land(name: string, bytes: string, opts: { append?: boolean; mtime?: number } = {}): void {
  const p = path.join(landing, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  if (opts.append) fs.appendFileSync(p, bytes);
  else fs.writeFileSync(p, bytes);
  const t = (opts.mtime ?? clock) / 1000;
  fs.utimesSync(p, t, t);
}

/** A sensor that keeps its cursor as JSON, as the daemon will. */
function harness(s: CompiledFileSensor, source: LandingSource = localLandingFolder(landing, s.glob)) {
  let stored: string | undefined;
  return async (opts: { flush?: boolean } = {}): Promise<FileSensorEvaluation> => {
    const cursor = stored === undefined ? undefined : (JSON.parse(stored) as FileSensorCursor);
    const r = await evaluateFileSensor(s, cursor, clock, source, opts);
    stored = JSON.stringify(r.cursor);
    return r;
  };
}

const OLD = () => clock - 60_000;

describe("file sensor", () => {
  it("never picks up a file still being written in several appends", async () => {
    const tick = harness(sensor());
    const parts = ["month,delay\n", "2001-01,3\n", "2001-02,7\n", "2001-03,12\n"];
    land("flights.csv", parts[0]);
    for (const part of parts.slice(1)) {
      const r = await tick();
      expect(r.requests).toEqual([]);
      expect(r.notes.map((n) => n.kind)).toContain("settling");
      clock += 600; // appends come faster than the 1 s settle interval
      land("flights.csv", part, { append: true });
    }
    expect((await tick()).requests).toEqual([]);
    clock += 600;
    expect((await tick()).requests).toEqual([]); // 600 ms since the last append: still settling
    clock += 500;
    const r = await tick();
    expect(r.requests).toHaveLength(1);
    const whole = parts.join("");
    expect(r.requests[0].files).toEqual([{ name: "flights.csv", size: whole.length, digest: sha(whole) }]);
    expect(r.requests[0].reason).toContain("flights.csv");
    clock += 5000;
    expect((await tick()).requests).toEqual([]);
  });

  it("takes a file renamed into place at once, and never sees the writer's hidden temporary file", async () => {
    const tick = harness(sensor());
    land(".2001-01.csv.tmp", "a,b\n1,2\n", { mtime: OLD() });
    expect((await tick()).requests).toEqual([]);
    fs.renameSync(path.join(landing, ".2001-01.csv.tmp"), path.join(landing, "2001-01.csv"));
    const r = await tick();
    expect(r.requests.map((q) => q.files.map((f) => f.name))).toEqual([["2001-01.csv"]]);
  });

  it("makes no run for the same bytes under a new name or a touched file, unless new names count", async () => {
    const tick = harness(sensor());
    land("a.csv", "x\n1\n", { mtime: OLD() });
    expect((await tick()).requests).toHaveLength(1);
    land("b.csv", "x\n1\n", { mtime: OLD() });
    const copy = await tick();
    expect(copy.requests).toEqual([]);
    expect(copy.notes.find((n) => n.kind === "same-content")?.message).toContain("b.csv (same bytes as a.csv)");
    land("a.csv", "x\n1\n"); // touched: new mtime, same bytes
    clock += 1500;
    const touched = await tick();
    expect(touched.requests).toEqual([]);
    expect(touched.notes.find((n) => n.kind === "touched")?.files).toEqual(["a.csv"]);

    const counting = harness(sensor({ onSameContent: "run" }));
    expect((await counting()).requests.map((q) => q.files.map((f) => f.name))).toEqual([["a.csv", "b.csv"]]);
    land("c.csv", "x\n1\n", { mtime: OLD() });
    expect((await counting()).requests.map((q) => q.files.map((f) => f.name))).toEqual([["c.csv"]]);
  });

  it("makes no run for a file deleted and re-added with the same bytes, and one when its bytes changed", async () => {
    const tick = harness(sensor());
    land("m.csv", "v1\n", { mtime: OLD() });
    expect((await tick()).requests).toHaveLength(1);
    fs.rmSync(path.join(landing, "m.csv"));
    clock += 1000;
    expect((await tick()).notes.find((n) => n.kind === "deleted")?.files).toEqual(["m.csv"]);
    land("m.csv", "v1\n", { mtime: OLD() });
    clock += 1000;
    expect((await tick()).requests).toEqual([]);
    fs.rmSync(path.join(landing, "m.csv"));
    await tick();
    land("m.csv", "v2\n", { mtime: OLD() });
    const changed = await tick();
    expect(changed.requests.map((q) => q.files)).toEqual([[{ name: "m.csv", size: 3, digest: sha("v2\n") }]]);
  });

  it("reads a file again when it was replaced by one of the same size and mtime", async () => {
    const tick = harness(sensor());
    land("m.csv", "v1\n", { mtime: OLD() });
    expect((await tick()).requests).toHaveLength(1);
    const replacement = path.join(dir, "replacement.csv");
    fs.writeFileSync(replacement, "v2\n");
    const t = OLD() / 1000;
    fs.utimesSync(replacement, t, t);
    fs.renameSync(replacement, path.join(landing, "m.csv"));
    clock += 1000;
    const r = await tick();
    expect(r.requests.map((q) => q.files)).toEqual([[{ name: "m.csv", size: 3, digest: sha("v2\n") }]]);
  });

  it("groups files landing within the debounce window into one run request", async () => {
    const tick = harness(sensor({ debounce: 2000 }));
    land("2001-01.csv", "jan\n", { mtime: OLD() });
    expect((await tick()).requests).toEqual([]);
    clock += 700;
    land("2001-02.csv", "feb\n", { mtime: OLD() });
    expect((await tick()).notes.find((n) => n.kind === "batch-open")?.files).toEqual(["2001-01.csv", "2001-02.csv"]);
    clock += 700;
    land("2001-03.csv", "mar\n", { mtime: OLD() });
    expect((await tick()).requests).toEqual([]);
    clock += 700;
    const r = await tick();
    expect(r.requests.map((q) => q.files.map((f) => f.name))).toEqual([["2001-01.csv", "2001-02.csv", "2001-03.csv"]]);
    expect(r.requests[0].reason).toContain("3 new file(s)");
    clock += 5000;
    land("2001-04.csv", "apr\n", { mtime: OLD() });
    await tick();
    clock += 2000;
    expect((await tick()).requests.map((q) => q.files.map((f) => f.name))).toEqual([["2001-04.csv"]]);
  });

  it("gives the same request key for the same contents, whatever the evaluation", async () => {
    land("a.csv", "1\n", { mtime: OLD() });
    land("b.csv", "2\n", { mtime: OLD() });
    const one = await harness(sensor())();
    const two = await harness(sensor())();
    expect(one.requests[0].key).toBe(two.requests[0].key);
    expect(one.requests[0].key).toMatch(/^sensor:landing:[0-9a-f]{32}$/);
  });

  it("does not trust a digest of a file that changed while it was being read", async () => {
    land("grow.csv", "part 1\n", { mtime: OLD() });
    const local = localLandingFolder(landing, "**/*");
    let appended = false;
    const racing: LandingSource = {
      location: local.location,
      list: () => local.list(),
      async digest(name) {
        if (!appended) {
          appended = true;
          land("grow.csv", "part 2\n", { append: true });
        }
        return local.digest(name);
      },
    };
    const tick = harness(sensor(), racing);
    const first = await tick();
    expect(first.requests).toEqual([]);
    expect(first.notes.map((n) => n.kind)).toContain("changed-while-reading");
    clock += 1500;
    expect((await tick()).requests[0].files[0].digest).toBe(sha("part 1\npart 2\n"));
  });

  it("records a folder that disappears, keeps its cursor, and makes no run when it comes back unchanged", async () => {
    const tick = harness(sensor());
    land("a.csv", "a\n", { mtime: OLD() });
    expect((await tick()).requests).toHaveLength(1);
    fs.rmSync(landing, { recursive: true });
    const gone = await tick();
    expect(gone.requests).toEqual([]);
    expect(gone.notes).toEqual([expect.objectContaining({ kind: "folder-missing" })]);
    expect(gone.notes[0].message).toContain(landing);
    expect(gone.cursor.files["a.csv"]).toBeDefined();
    fs.mkdirSync(landing);
    land("a.csv", "a\n", { mtime: OLD() });
    clock += 1000;
    expect((await tick()).requests).toEqual([]);
  });

  it("matches the glob only, below the folder", async () => {
    const tick = harness(sensor({ glob: "**/*.parquet" }));
    land("2001/01.parquet", "p1", { mtime: OLD() });
    land("2001/01.csv", "c1", { mtime: OLD() });
    land("top.parquet", "p2", { mtime: OLD() });
    const names = (await tick()).requests.map((q) => q.files.map((f) => f.name));
    expect(names).toEqual([["2001/01.parquet", "top.parquet"]]);
  });

  it("handles 10,000 files in the landing folder, reading each only once", async () => {
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      fs.writeFileSync(path.join(landing, `f${String(i).padStart(5, "0")}.csv`), `row ${i}\n`);
    }
    clock = Date.now() + 10_000; // every file was last written more than the settle interval ago
    let reads = 0;
    const local = localLandingFolder(landing, "*.csv");
    const counted: LandingSource = { ...local, list: () => local.list(), digest: (n) => (reads++, local.digest(n)) };
    const tick = harness(sensor({ glob: "*.csv" }), counted);
    let t0 = performance.now();
    const first = await tick();
    const firstMs = performance.now() - t0;
    expect(first.requests).toHaveLength(1);
    expect(first.requests[0].files).toHaveLength(N);
    expect(new Set(first.requests[0].files.map((f) => f.digest)).size).toBe(N);
    expect(first.requests[0].files[42]).toEqual({ name: "f00042.csv", size: 7, digest: sha("row 42\n") });
    expect(reads).toBe(N);
    clock += 1000;
    t0 = performance.now();
    const second = await tick();
    const secondMs = performance.now() - t0;
    expect(second.requests).toEqual([]);
    expect(reads).toBe(N);
    fs.writeFileSync(path.join(landing, "new.csv"), "fresh\n");
    clock = Date.now() + 10_000;
    const third = await tick();
    expect(third.requests.map((q) => q.files.map((f) => f.name))).toEqual([["new.csv"]]);
    expect(reads).toBe(N + 1);
    console.log(
      `10,000 files: first evaluation ${firstMs.toFixed(0)} ms (all read),` +
        ` next ${secondMs.toFixed(0)} ms (none read)`,
    );
  }, 120_000);
});

describe("folder watch", () => {
  it("wakes on a change and otherwise times out", async () => {
    const woke = waitForFolderChange(landing, 20_000);
    await new Promise((r) => setTimeout(r, 50));
    fs.writeFileSync(path.join(landing, "x.csv"), "x");
    expect(await woke).toBe("change");
    // A folder nothing writes to times out (Node 24 may still deliver the write above to a new watcher).
    const quiet = fs.mkdtempSync(path.join(dir, "quiet-"));
    expect(await waitForFolderChange(quiet, 50)).toBe("timeout");
    expect(await waitForFolderChange(path.join(dir, "missing"), 50)).toBe("timeout");
    const ac = new AbortController();
    const aborted = waitForFolderChange(landing, 20_000, ac.signal);
    ac.abort();
    expect(await aborted).toBe("aborted");
  });
});
