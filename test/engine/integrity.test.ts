/**
 * Stored bytes are verified before they are used: a flipped byte, a truncated or a deleted
 * object makes a cache hit or a resumed step a miss, its producer reruns, the damaged object
 * goes to quarantine, and the outputs come out right.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Trainyard } from "../../src/engine/trainyard.js";
import { pipeline } from "../../src/index.js";
import type { DirectoryArtifact, FileArtifact } from "../../src/index.js";
import { hashTree } from "../../src/store/file-hash.js";
import { FIXTURES, useHomes } from "./support.js";
import { shortDigest } from "../../src/core/hash.js";

const homes = useHomes();
const RESUMABLE = path.join(FIXTURES, "resumable.ts");
const PAYLOAD = "the payload: 0123456789abcdef\n".repeat(64);

/** produce -> consume -> report; `produce` counts its executions in `counter`. */
function build(counter: string, failFlag: string) {
  const p = pipeline("integrity", { params: z.object({ n: z.number().default(1) }) });
  const produce = p.step("produce", {
    run: (ctx) => {
      fs.appendFileSync(counter, "x");
      fs.writeFileSync(path.join(ctx.workdir, "payload.txt"), PAYLOAD);
      fs.mkdirSync(path.join(ctx.workdir, "tool"));
      fs.writeFileSync(path.join(ctx.workdir, "tool", "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
      fs.writeFileSync(path.join(ctx.workdir, "tool", "README"), "plain\n");
      return { payload: ctx.file("payload.txt"), tool: ctx.directory("tool") };
    },
  });
  const consume = p.step("consume", {
    inputs: { up: produce },
    run: (_ctx, { up }) => ({
      length: fs.readFileSync(up.payload.path, "utf8").length,
      head: fs.readFileSync(up.payload.path, "utf8").slice(0, 12),
    }),
  });
  p.step("report", {
    inputs: { c: consume },
    run: (_ctx, { c }) => {
      if (fs.existsSync(failFlag)) throw new Error("failing on purpose");
      return c;
    },
  });
  return p;
}

type Damage = "flip" | "truncate" | "delete";

function damage(file: string, how: Damage): void {
  fs.chmodSync(file, 0o644);
  if (how === "delete") return fs.rmSync(file);
  if (how === "truncate") return fs.truncateSync(file, 100);
  const buf = fs.readFileSync(file);
  buf[7] ^= 0x01;
  fs.writeFileSync(file, buf);
}

function quarantined(home: string): string[] {
  const dir = path.join(home, "artifacts", "quarantine");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

describe("verified artifacts", () => {
  it.each<Damage>(["flip", "truncate", "delete"])(
    "recomputes the producer of an object after %s, on a re-run",
    async (how) => {
      const { ty: first, home } = await homes.open();
      const dir = homes.tempDir();
      const counter = path.join(dir, "count");
      const flag = path.join(dir, "fail");
      const r1 = await first.run(build(counter, flag), { concurrency: 1 });
      expect(r1.status).toBe("succeeded");
      const out = (await first.output(r1.runId, "produce")) as { payload: FileArtifact };
      await first.close();
      damage(out.payload.path, how);

      const ty = await Trainyard.open({ home });
      try {
        const r2 = await ty.run(build(counter, flag), { concurrency: 1 });
        expect(r2.status).toBe("succeeded");
        expect(fs.readFileSync(counter, "utf8")).toBe("xx");
        expect(r2.steps.find((s) => s.step === "produce")!.cached).toBe(false);
        expect(await ty.output(r2.runId, "report")).toEqual({ length: PAYLOAD.length, head: PAYLOAD.slice(0, 12) });
        expect(fs.readFileSync(out.payload.path, "utf8")).toBe(PAYLOAD);
        const q = quarantined(home);
        if (how === "delete") expect(q).toEqual([]);
        else expect(q.map((n) => n.split(".")[0])).toEqual([out.payload.digest]);
        const why = (await ty.metadata.getStepRun(`${r2.runId}:produce`))!.reason;
        expect(why).toContain(shortDigest(out.payload.digest));
      } finally {
        await ty.close();
      }
    },
  );

  it.each<Damage>(["flip", "truncate", "delete"])(
    "recomputes the producer on resume after %s, never failing for the missing object",
    async (how) => {
      const { ty: first, home } = await homes.open();
      const dir = homes.tempDir();
      const r1 = await first.run(RESUMABLE, { params: { dir, failOnce: true }, concurrency: 1 });
      expect(r1.status).toBe("failed");
      const out = (await first.output(r1.runId, "fast")) as { file: FileArtifact };
      await first.close();
      damage(out.file.path, how);

      const ty = await Trainyard.open({ home });
      try {
        const r2 = await ty.resume(r1.runId, { concurrency: 1 });
        expect(r2.status).toBe("succeeded");
        expect(fs.readFileSync(path.join(dir, "fast.count"), "utf8")).toBe("xx");
        expect(await ty.output(r2.runId, "last")).toBe(20);
        expect(fs.readFileSync(out.file.path, "utf8")).toBe("fast output");
        if (how !== "delete") expect(quarantined(home).map((n) => n.split(".")[0])).toEqual([out.file.digest]);
      } finally {
        await ty.close();
      }
    },
  );

  it("raises ARTIFACT_CORRUPT naming the object, its file and the step run that wrote it", async () => {
    const { ty, home } = await homes.open();
    const dir = homes.tempDir();
    const r = await ty.run(build(path.join(dir, "count"), path.join(dir, "fail")), { concurrency: 1 });
    const out = (await ty.output(r.runId, "produce")) as { payload: FileArtifact };
    damage(out.payload.path, "flip");
    const err = await ty.io.verifiedPath(out.payload.digest, { use: "model load" }).then(
      () => undefined,
      (e) => e,
    );
    expect(err).toMatchObject({ code: "ARTIFACT_CORRUPT" });
    expect(err.message).toContain(shortDigest(out.payload.digest));
    expect(err.message).toContain('step "produce"');
    expect(err.fields).toMatchObject({
      digest: out.payload.digest,
      file: out.payload.path,
      writtenBy: `${r.runId}:produce`,
    });
    expect(err.hint).toContain("fsck");
    expect(fs.existsSync(out.payload.path)).toBe(false);
    expect(quarantined(home).length).toBe(1);
  });

  it("keeps exec bits in a stored directory, which still hashes to its own name", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const r = await ty.run(build(path.join(dir, "count"), path.join(dir, "fail")), { concurrency: 1 });
    const out = (await ty.output(r.runId, "produce")) as { tool: DirectoryArtifact };
    expect(fs.statSync(path.join(out.tool.path, "run.sh")).mode & 0o111).not.toBe(0);
    expect(fs.statSync(path.join(out.tool.path, "README")).mode & 0o111).toBe(0);
    expect(fs.statSync(path.join(out.tool.path, "run.sh")).mode & 0o222).toBe(0);
    expect((await hashTree(out.tool.path)).digest).toBe(out.tool.digest);
    await expect(ty.io.verifiedPath(out.tool.digest)).resolves.toBe(out.tool.path);
  });
});
