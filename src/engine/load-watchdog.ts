/**
 * Guards the loading of a user's module (its top-level code runs on the main thread): past the
 * load timeout the loader rejects on its own, unless the thread is stuck in synchronous code
 * (`while (true) {}`), where no timer or signal handler of ours can run. A watchdog thread
 * then prints the error and ends the process, since nothing else can.
 */
import { Worker } from "node:worker_threads";
import { TrainyardError } from "../core/errors.js";

/** How long the watchdog gives the main thread to report its own timeout first. */
const GRACE_MS = 2000;

const DEFAULT_LOAD_TIMEOUT_MS = 60_000;

/** TRAINYARD_LOAD_TIMEOUT: "90" (seconds), "90s", "2m", "500ms". @default 60 s */
export function loadTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.TRAINYARD_LOAD_TIMEOUT?.trim();
  if (!text) return DEFAULT_LOAD_TIMEOUT_MS;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text);
  if (!m || Number(m[1]) <= 0) {
    throw new TrainyardError("CONFIG_INVALID", `TRAINYARD_LOAD_TIMEOUT=${JSON.stringify(text)} is not a duration`, {
      hint: 'give seconds, or a number with a unit: TRAINYARD_LOAD_TIMEOUT=120, "90s", "5m"',
    });
  }
  const unit = m[2] ?? "s";
  return Number(m[1]) * (unit === "h" ? 3_600_000 : unit === "m" ? 60_000 : unit === "s" ? 1000 : 1);
}

export function loadTimeoutError(file: string, what: string, timeoutMs: number, stuck: boolean): TrainyardError {
  const how = stuck
    ? "its top-level code is still running (a loop that never yields?)"
    : "its top-level code is still awaiting";
  const message = `${what} ${file} did not finish loading within ${formatMs(timeoutMs)}: ${how}`;
  return new TrainyardError("MODULE_LOAD", message, {
    file,
    hint:
      "a pipeline module should only define steps: move slow work (downloads, training, waiting for a service) " +
      "into a step, or give it more time with TRAINYARD_LOAD_TIMEOUT (seconds)",
  });
}

const WATCHDOG = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const state = new Int32Array(workerData.state);
if (Atomics.wait(state, 0, 0, workerData.waitMs) === "timed-out" && Atomics.load(state, 0) === 0) {
  try { writeSync(2, workerData.message); } catch {}
  process.kill(process.pid, "SIGKILL");
}
`;

export interface LoadWatchdog {
  /** The module loaded, or the loader reported its timeout: the watchdog stands down. */
  stop(): void;
}

/** Starts a watchdog for one module load; it kills the process if not stopped in time. */
export function watchModuleLoad(file: string, what: string, timeoutMs: number): LoadWatchdog {
  const state = new SharedArrayBuffer(4);
  const err = loadTimeoutError(file, what, timeoutMs, true);
  const message = `error[${err.code}]: ${err.message}\n  hint: ${err.hint}\n`;
  const workerData = { state, waitMs: timeoutMs + GRACE_MS, message };
  const worker = new Worker(WATCHDOG, { eval: true, workerData, stdout: false, stderr: false });
  worker.unref();
  // A watchdog that cannot start must not take the load down with it.
  worker.on("error", () => undefined);
  return {
    stop() {
      const flag = new Int32Array(state);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    },
  };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
