/**
 * Work directories of one run, recycled: removing a directory is slow on some volumes
 * (docs/performance.md), so an emptied one goes back to the pool and anything else is removed off
 * the critical path. No two attempts ever see one path: names carry this process's token, and a
 * recycled directory is renamed, so a straggler of the step before writes nowhere the next one looks.
 */
import { mkdirSync, readdirSync, renameSync } from "node:fs";
import { rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { PROCESS_TOKEN } from "./runners/process-supervisor.js";

export class WorkdirPool {
  private readonly free: string[] = [];
  /** Directories known to hold an empty `out/` (a command step's output directory). */
  private readonly withOut = new Set<string>();
  private readonly removals = new Set<Promise<void>>();
  private made = 0;
  private rootMade = false;

  constructor(
    private readonly root: string,
    private readonly prefix: string,
  ) {}

  /** An empty directory (but for an empty `out/` when `hasOut` says so) of this run. */
  acquire(): string {
    const name = join(this.root, `${this.prefix}-${PROCESS_TOKEN}-${++this.made}`);
    const dir = this.free.pop();
    if (dir !== undefined) {
      try {
        renameSync(dir, name);
        if (this.withOut.delete(dir)) this.withOut.add(name);
        return name;
      } catch {
        this.withOut.delete(dir);
        this.remove(dir);
      }
    }
    if (!this.rootMade) {
      mkdirSync(this.root, { recursive: true });
      this.rootMade = true;
    }
    mkdirSync(name, { recursive: true });
    return name;
  }

  /** True when `dir` came from the pool with its `out/` directory already there. */
  hasOut(dir: string): boolean {
    return this.withOut.has(dir);
  }

  /**
   * Takes a directory back. `reusable` is false for an attempt that failed or was cancelled:
   * its directory is kept out of the pool and removed.
   */
  release(dir: string, reusable: boolean): void {
    this.withOut.delete(dir);
    if (reusable) {
      const left = listOrUndefined(dir);
      if (left && left.length === 0) {
        this.free.push(dir);
        return;
      }
      if (left && left.length === 1 && left[0] === "out" && listOrUndefined(`${dir}/out`)?.length === 0) {
        this.withOut.add(dir);
        this.free.push(dir);
        return;
      }
    }
    this.remove(dir);
  }

  /** Removes every pooled directory and waits for every removal still in flight. */
  async close(): Promise<void> {
    for (const dir of this.free.splice(0)) this.remove(dir);
    this.withOut.clear();
    await Promise.all(this.removals);
  }

  private remove(dir: string): void {
    // Usually empty but for an emptied out/ directory: two rmdirs instead of a tree walk.
    const done: Promise<void> = rmdir(`${dir}/out`)
      .catch(() => undefined)
      .then(() => rmdir(dir))
      .catch(() => rm(dir, { recursive: true, force: true }))
      .catch(() => undefined)
      .finally(() => this.removals.delete(done));
    this.removals.add(done);
  }
}

function listOrUndefined(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}
