/** Runs `node bin/trainyard.js` as a child process against a temp home. */
import { spawn } from "node:child_process";
import path from "node:path";
import { REPO } from "../engine/support.js";

export const BIN = path.join(REPO, "bin", "trainyard.js");
export const CLI_FIXTURE = path.join(REPO, "test", "fixtures", "engine", "cli-pipeline.ts");
export const SLOW_FIXTURE = path.join(REPO, "test", "fixtures", "engine", "cli-slow.ts");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], home: string, opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1", TRAINYARD_DEBUG: "", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export function cli(args: string[], home: string, opts: { cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, home, opts).done;
}

export interface RunSummary {
  runId: string;
  pipeline: string;
  status: string;
  durationMs: number;
  steps: Array<{
    step: string;
    status: string;
    cached: boolean;
    attempts: number;
    durationMs: number | null;
    items?: number;
    error?: string;
  }>;
  error?: { code: string; message: string; hint?: string };
}

export function summaryOf(r: CliResult): RunSummary {
  try {
    return JSON.parse(r.stdout) as RunSummary;
  } catch {
    throw new Error(`stdout is not a JSON summary (exit ${r.code}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
}
