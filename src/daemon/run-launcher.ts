/**
 * Starts queued runs as `trainyard run <module> --run-id <id> --trigger <kind:name>` child
 * processes (or `trainyard resume <id>` for an orphan) and watches them until they exit. A child
 * has its own process group and writes to a log file, not a pipe: a daemon that dies (or drains)
 * leaves its runs running, and the next daemon finds them by their pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../engine/package-root.js";
import type { QueuedRun } from "../store/tick-store.js";

export interface RunChild {
  runId: string;
  pipeline: string;
  /** The trigger id of the queue row. */
  trigger: string;
  mode: "run" | "resume";
  pid?: number;
  /** When spawn() returned (ms), for the daemon's own overhead per launch. */
  spawnedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RunLauncherOptions {
  home: string;
  /** Extra environment for the children (e.g. TRAINYARD_METADATA_URL). */
  env?: Record<string, string>;
  onExit(child: RunChild, code: number | null, signal: NodeJS.Signals | null): void;
}

const CLI = join(PACKAGE_ROOT, "bin", "trainyard.js");

export class RunLauncher {
  private readonly children = new Map<string, RunChild & { process: ChildProcess }>();
  private readonly logDir: string;

  constructor(private readonly opts: RunLauncherOptions) {
    this.logDir = join(opts.home, "daemon", "logs");
  }

  get activeCount(): number {
    return this.children.size;
  }

  activeFor(pipeline: string): number {
    let n = 0;
    for (const c of this.children.values()) if (c.pipeline === pipeline) n++;
    return n;
  }

  has(runId: string): boolean {
    return this.children.has(runId);
  }

  list(): RunChild[] {
    return [...this.children.values()];
  }

  launch(run: QueuedRun, triggerLabel: string): RunChild {
    const args = [
      "run",
      run.modulePath,
      "--run-id",
      run.runId,
      "--trigger",
      triggerLabel,
      "--json",
      "--quiet",
      "--home",
      this.opts.home,
    ];
    if (run.profile) args.push("--profile", run.profile);
    // Each value is one argv element (never shell text); non-strings go as JSON, which `--param` coerces back.
    for (const [k, v] of Object.entries(run.params ?? {}))
      args.push("--param", `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    return this.start({ runId: run.runId, pipeline: run.pipeline, trigger: run.trigger, mode: "run" }, args);
  }

  resume(run: Pick<QueuedRun, "runId" | "pipeline" | "trigger">): RunChild {
    const args = ["resume", run.runId, "--json", "--quiet", "--home", this.opts.home];
    return this.start({ runId: run.runId, pipeline: run.pipeline, trigger: run.trigger, mode: "resume" }, args);
  }

  private start(what: Pick<RunChild, "runId" | "pipeline" | "trigger" | "mode">, args: string[]): RunChild {
    const { runId } = what;
    mkdirSync(this.logDir, { recursive: true });
    const log = openSync(join(this.logDir, `${runId}.log`), "a");
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.opts.env, TRAINYARD_HOME: this.opts.home, NO_COLOR: "1" };
    // The daemon's fault-injection switch is for the daemon, not for the runs it starts.
    delete env.TRAINYARD_CRASH_AT;
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", log, log], env, detached: true });
    } finally {
      closeSync(log);
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("error", () => resolve({ code: null, signal: null }));
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    const entry = { ...what, pid: child.pid, spawnedAt: Date.now(), exited, process: child };
    this.children.set(runId, entry);
    void exited.then(({ code, signal }) => {
      this.children.delete(runId);
      this.opts.onExit(entry, code, signal);
    });
    return entry;
  }

  /** Waits for running children up to `timeoutMs`; returns those still running (left to `resume`). */
  async drain(timeoutMs: number): Promise<RunChild[]> {
    const all = Promise.all(this.list().map((c) => c.exited));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.list();
  }
}
