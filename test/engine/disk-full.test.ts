/**
 * A full disk under a run, for real: the home on a 6 MiB tmpfs, and a step that writes 8 MiB. The
 * step fails with the disk named as the cause and what to do; the run never reads "running" once
 * its process is gone (before, its lease was released although its last records had failed, so it
 * read "running" for ever); and once space is freed, `trainyard resume` finishes it and fsck is
 * clean: nothing stored was lost or damaged by the failed writes.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { cli } from "../cli/support.js";
import { requireTools } from "../support/require-tool.js";
import { mountSmallDisk, type SmallDisk } from "../support/small-disk.js";
import { REPO } from "./support.js";

const FIXTURE = path.join(REPO, "test", "fixtures", "engine", "disk-full.ts");

const gate = requireTools("tmpfs");
gate.describe("a full disk under a run", () => {
  let disk: SmallDisk;
  beforeAll(() => {
    disk = mountSmallDisk(6);
  });
  afterAll(() => disk?.remove());

  gate.it("fails naming the full disk, never reads running, and resumes once space is freed", async () => {
    const home = path.join(disk.path, "home");
    const full = await cli(["run", FIXTURE], home);
    const said = `${full.stdout}${full.stderr}`;
    expect(full.code, said).toBe(1);
    expect(said).toMatch(/ENOSPC: no space left on device/);
    expect(said).toMatch(/hint: .*the disk is full: free space/);

    disk.grow(64);
    const ty = await Trainyard.open({ home });
    try {
      const [run] = await ty.listRuns();
      expect(["failed", "interrupted"]).toContain(run.status);
      const resumed = await ty.resume(run.id);
      expect(resumed.status, JSON.stringify(resumed.error)).toBe("succeeded");
      const big = (await ty.output(run.id, "big")) as { file: { digest: string } };
      // Verified against its digest on the way in.
      const stored = await ty.verifiedPath(big.file.digest);
      expect(fs.statSync(stored).size).toBe(8 * 1024 * 1024);
    } finally {
      await ty.close();
    }
    const fsck = await cli(["fsck"], home);
    expect(fsck.code, `${fsck.stdout}${fsck.stderr}`).toBe(0);
    expect(fsck.stdout).toMatch(/corrupt objects: 0/);
  });
});
