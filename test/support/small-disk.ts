/**
 * A small real disk for the tests that fill one: a tmpfs of a few MiB mounted on a fresh directory
 * (root only: gate such tests with `requireTools("tmpfs")`). `fill()` writes a file that takes all
 * the space left, `free()` removes it, `grow()` makes the disk larger in place.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { tempDir } from "../engine/support.js";

export interface SmallDisk {
  /** Where it is mounted. */
  path: string;
  fill(): void;
  free(): void;
  grow(mib: number): void;
  /** Unmounts it and removes its directory. */
  remove(): void;
}

export function mountSmallDisk(mib: number): SmallDisk {
  const dir = tempDir("ty-small-disk-");
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mib}m`, "tmpfs", dir]);
  const filler = path.join(dir, "filler");
  return {
    path: dir,
    fill() {
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=1M", `count=${mib * 4}`], { stdio: "ignore" });
      } catch {
        // dd stops at the full disk: what it wrote stays.
      }
    },
    free: () => fs.rmSync(filler, { force: true }),
    grow: (size) => void execFileSync("mount", ["-o", `remount,size=${size}m`, dir]),
    remove() {
      execFileSync("umount", ["-l", dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
