/** Shared helpers of the engine tests: temp homes, fixture paths, polling. */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import type { RunResult, StepSummary } from "../../src/engine/trainyard.js";

export const REPO = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const FIXTURES = path.join(REPO, "test", "fixtures", "engine");

export function tempDir(prefix = "ty-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Opens Trainyard homes in temp directories and closes/removes them after each test of the file
 * that calls it (at module level).
 */
export function useHomes(): {
  open: () => Promise<{ ty: Trainyard; home: string }>;
  tempDir: (prefix?: string) => string;
  fixtureDir: () => string;
  /** Runs `cleanup` after the test, before the cleanups registered earlier. */
  defer: (cleanup: () => Promise<void> | void) => void;
} {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    async open() {
      const home = tempDir("ty-home-");
      const ty = await Trainyard.open({ home });
      cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
      cleanups.push(() => ty.close());
      return { ty, home };
    },
    tempDir(prefix) {
      const d = tempDir(prefix);
      cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
      return d;
    },
    /** A directory under test/fixtures/engine (so modules resolve "trainyard" and "zod"), removed after the test. */
    fixtureDir() {
      const d = path.join(FIXTURES, `tmp-${randomBytes(4).toString("hex")}`);
      fs.mkdirSync(d, { recursive: true });
      cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
      return d;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

export function stepOf(result: RunResult, id: string): StepSummary {
  const s = result.steps.find((x) => x.step === id);
  if (!s)
    throw new Error(`run ${result.runId} has no step ${id}; steps: ${result.steps.map((x) => x.step).join(", ")}`);
  return s;
}

/** Sleeps, rejecting when the signal aborts (well-behaved steps stop when cancelled). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason ?? new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Polls until `check` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A promise's rejection, or a failure if it resolved. */
export async function rejectionOf(
  p: Promise<unknown>,
): Promise<{ code?: string; message: string; hint?: string; fields?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as never;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lines of a log that commands append "start <id>" and "end <id>" to, and the most commands
 * that were running at once by it.
 */
export function overlapOf(log: string): { lines: string[]; most: number } {
  const lines = fs.readFileSync(log, "utf8").trim().split("\n");
  let running = 0;
  let most = 0;
  for (const line of lines) {
    running += line.startsWith("start") ? 1 : -1;
    most = Math.max(most, running);
  }
  return { lines, most };
}
