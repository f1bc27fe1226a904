/**
 * `trainyard fsck` (a real child process): clean on a healthy home, non-zero with the damaged
 * object named after a flipped byte or a deleted object; `--repair` quarantines and the next
 * run recomputes, after which the home checks clean again.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import type { FileArtifact } from "../../src/index.js";
import { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { cli } from "../cli/support.js";
import { useHomes } from "./support.js";
import { shortDigest } from "../../src/core/hash.js";

const homes = useHomes();

function build() {
  const p = pipeline("fsck-demo");
  const a = p.step("a", {
    run: (ctx) => {
      fs.writeFileSync(path.join(ctx.workdir, "a.txt"), "alpha\n".repeat(1000));
      fs.mkdirSync(path.join(ctx.workdir, "tree"));
      fs.writeFileSync(path.join(ctx.workdir, "tree", "x"), "x\n");
      return { file: ctx.file("a.txt"), tree: ctx.directory("tree") };
    },
  });
  p.step("b", {
    inputs: { a },
    run: (ctx, { a }) => {
      fs.writeFileSync(path.join(ctx.workdir, "b.txt"), fs.readFileSync(a.file.path, "utf8").toUpperCase());
      return { file: ctx.file("b.txt") };
    },
  });
  return p;
}

interface FsckJson {
  objects: number;
  ok: boolean;
  corrupt: Array<{ digest: string; detail: string }>;
  missing: Array<{ digest: string; referencedBy?: string }>;
  orphans: string[];
  repaired?: { quarantined: number; recordsInvalidated: number };
}

const fsck = async (home: string, ...flags: string[]) => {
  const r = await cli(["fsck", "--json", ...flags], home);
  return { code: r.code, json: JSON.parse(r.stdout) as FsckJson, stderr: r.stderr };
};

describe("trainyard fsck", () => {
  it("finds a flipped byte and a deleted object, repairs, and is clean after the next run", async () => {
    const { ty, home } = await homes.open();
    const r1 = await ty.run(build(), { concurrency: 1 });
    expect(r1.status).toBe("succeeded");
    const a = (await ty.output(r1.runId, "a")) as { file: FileArtifact };
    const b = (await ty.output(r1.runId, "b")) as { file: FileArtifact };
    const orphan = await new FsArtifactStore(path.join(home, "artifacts")).putBytes(Buffer.from("nobody's"));

    const clean = await fsck(home);
    expect(clean.code).toBe(0);
    expect(clean.json).toMatchObject({ ok: true, corrupt: [], missing: [] });
    expect(clean.json.objects).toBeGreaterThanOrEqual(4);
    expect(clean.json.orphans).toEqual([orphan.digest]);

    fs.chmodSync(a.file.path, 0o644);
    const buf = fs.readFileSync(a.file.path);
    buf[3] ^= 0x20;
    fs.writeFileSync(a.file.path, buf);
    fs.chmodSync(b.file.path, 0o644);
    fs.rmSync(b.file.path);

    const text = await cli(["fsck"], home);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(shortDigest(a.file.digest));
    expect(text.stdout).toContain('written by step "a"');
    expect(text.stdout).toContain("fsck --repair");

    const damaged = await fsck(home);
    expect(damaged.code).toBe(1);
    expect(damaged.json.corrupt.map((c) => c.digest)).toEqual([a.file.digest]);
    expect(damaged.json.missing.map((m) => m.digest)).toContain(b.file.digest);

    const repaired = await fsck(home, "--repair");
    expect(repaired.code).toBe(1);
    expect(repaired.json.repaired?.quarantined).toBe(1);
    expect(fs.readdirSync(path.join(home, "artifacts", "quarantine")).map((n) => n.split(".")[0])).toEqual([
      a.file.digest,
    ]);

    const r2 = await ty.run(build(), { concurrency: 1 });
    expect(r2.status).toBe("succeeded");
    expect(r2.steps.map((s) => [s.step, s.cached])).toEqual([
      ["a", false],
      ["b", false],
    ]);
    expect(fs.readFileSync(b.file.path, "utf8")).toBe("ALPHA\n".repeat(1000));
    const after = await fsck(home);
    expect(after.json.corrupt).toEqual([]);
    expect(after.json.missing).toEqual([]);
    expect(after.code).toBe(0);
  });
});
