/**
 * Starts shell-string commands through a few long-lived /bin/sh helper processes instead of
 * forking Node for each one. Forking the orchestrator costs milliseconds per command (its page
 * tables are copied, and libuv blocks the event loop until the child has exec'd), which
 * dominated runs of many short commands; a small shell forks in a fraction of that, off our
 * event loop.
 *
 * A helper runs one command at a time, in a forked subshell that evaluates the command text, so a
 * command made of shell builtins (`echo ... > file`) costs one fork and no exec at all, and any
 * other program the exec it would have cost anyway. The subshell is forked ahead, as soon as the
 * previous command has ended, and waits for its job: the fork is off the path from one step to
 * the next (a fifth of a command's round trip here). The command's stdout and stderr are the
 * helper's own pipes and stream live, exactly attributed. The command gets what `sh -c` gave it:
 * the same environment (sent as the difference from the helper's), working directory, no
 * positional parameters, stdin from /dev/null. Each helper leads its own process group, which
 * holds only it and its current command's tree: stopping a command signals that group, and the
 * helper goes down with it (a new one starts for the next command). After the command exits the
 * helper writes an end marker on both streams, the one on stdout carrying the exit status and
 * both the job's number, which the helper counts as Trainyard does. Anything unusual (odd
 * environment names) falls back to a direct spawn.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";

export interface CommandHandlers {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** Once: the command ended (and its output before the end has been delivered). */
  close(code: number | null, signal: NodeJS.Signals | null): void;
  error(err: Error): void;
}

export interface StartedCommand {
  /** Signals the command's whole process group. */
  kill(signal: NodeJS.Signals): void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Each job is written to one of the helper's two job files and started by naming that file (one
// character) on its stdin: sh reads a pipe a byte at a time, so a whole job line sent through the
// pipe cost hundreds of syscalls. Jobs alternate between the files because the helper may still
// be reading the previous file to its end when the next job is written.
// Shell variables of the helper are prefixed so that they never shadow an exported variable.
// The end of its stdin (Trainyard closed it, or died) ends the helper: the waiting subshell
// kills it ($$ names the helper in a subshell too).
const HELPER_LOOP = `__ty_nl='
'
__ty_n=0
while :; do
  (IFS= read -r __ty_f || { kill -9 $$; exit 1; }; exec </dev/null; . "$1.$__ty_f")
  __ty_s=$?
  __ty_n=$((__ty_n + 1))
  printf '\\036TYEND%s %s\\n' $__ty_n $__ty_s
  printf '\\036TYEND%s 0\\n' $__ty_n >&2
done`;
const quote = (s: string) =>
  s.includes("'") || s.includes("\n") ? `'${s.replace(/'/g, `'\\''`).replace(/\n/g, `'"$__ty_nl"'`)}'` : `'${s}'`;
const EMPTY = Buffer.alloc(0);
const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

interface Job {
  id: number;
  handlers: CommandHandlers;
  /** The signal that stopped the command's process group, helper included. */
  killedBy?: NodeJS.Signals;
  status?: number;
  ended: { stdout: boolean; stderr: boolean };
}

class ShellHelper {
  readonly child: ChildProcess;
  readonly env: Readonly<Record<string, string | undefined>>;
  job?: Job;
  dead = false;
  private seq = 0;
  private jobFds: Array<number | undefined> = [];
  private readonly jobLengths = [0, 0];
  private readonly held: Record<"stdout" | "stderr", Buffer> = { stdout: EMPTY, stderr: EMPTY };

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly jobFile: string,
    /** Told when a job starts (true) and ends (false): a busy helper must keep the process alive. */
    private readonly onBusy: (busy: boolean) => void,
  ) {
    this.env = { ...env };
    this.child = spawn("/bin/sh", ["-c", HELPER_LOOP, "trainyard-sh", jobFile], { env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child.stdout!.on("data", (c: Buffer) => this.output("stdout", c));
    this.child.stderr!.on("data", (c: Buffer) => this.output("stderr", c));
    this.child.stdin!.on("error", () => undefined);
    this.child.on("error", () => this.die());
    this.child.on("exit", () => this.die());
    // An idle helper never keeps the process alive; the launcher holds it while one is busy.
    for (const h of [this.child, this.child.stdout, this.child.stderr] as Array<{ unref(): void } | null>) h?.unref();
  }

  /** Runs `command` with the helper's environment plus `extra` (which wins). */
  run(command: string, extra: NodeJS.ProcessEnv, cwd: string, handlers: CommandHandlers): Job | undefined {
    const changes: string[] = [];
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined || this.env[k] === v) continue;
      if (!NAME.test(k)) return undefined;
      changes.push(`${k}=${quote(v)}`);
    }
    const unset: string[] = [];
    const job: Job = { id: ++this.seq, handlers, ended: { stdout: false, stderr: false } };
    // cd sets OLDPWD, which a direct spawn would not have passed on.
    const oldpwd = extra.OLDPWD ?? this.env.OLDPWD;
    if (oldpwd === undefined) unset.push("OLDPWD");
    else changes.push(`OLDPWD=${quote(oldpwd)}`);
    const setup = [`cd -- ${quote(cwd)} || exit 127`, `unset ${unset.join(" ")}`, ...(changes.length ? [`export ${changes.join(" ")}`] : [])];
    // Run by the waiting subshell, whose stdin is already /dev/null.
    const line = `${setup.join("; ")}; set --; eval ${quote(command)}\n`;
    const slot = job.id % 2;
    try {
      this.writeJob(slot, line);
    } catch {
      return undefined;
    }
    this.job = job;
    this.onBusy(true);
    this.signal(`${slot}\n`);
    return job;
  }

  /**
   * Overwrites the job file in place: truncating it instead made ext4 flush it on every job
   * (its replace-by-truncate heuristic). A shorter job is padded with a comment line.
   */
  private writeJob(slot: number, line: string): void {
    this.jobFds[slot] ??= openSync(`${this.jobFile}.${slot}`, "w");
    const job = Buffer.from(line);
    const pad = this.jobLengths[slot] - job.length;
    const bytes = pad > 0 ? Buffer.concat([job, Buffer.from(`#${" ".repeat(pad - 1)}`)]) : job;
    writeSync(this.jobFds[slot], bytes, 0, bytes.length, 0);
    this.jobLengths[slot] = Math.max(this.jobLengths[slot], bytes.length);
  }

  /** Signals the helper's process group: the command, everything it started, and the helper. */
  kill(job: Job, signal: NodeJS.Signals): void {
    if (this.job === job) job.killedBy ??= signal;
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      /* already gone */
    }
  }

  close(): void {
    this.child.stdin!.end();
    for (const fd of this.jobFds) if (fd !== undefined) closeSync(fd);
    this.jobFds = [];
  }

  private output(stream: "stdout" | "stderr", data: Buffer): void {
    const job = this.job;
    if (!job || job.ended[stream]) return;
    const held = this.held[stream];
    const chunk = held.length ? Buffer.concat([held, data]) : data;
    this.held[stream] = EMPTY;
    const marker = `\u001eTYEND${job.id} `;
    const at = chunk.indexOf(marker);
    const eol = at < 0 ? -1 : chunk.indexOf(0x0a, at);
    if (eol < 0) {
      // A read can end inside the marker: hold back a tail that could be its beginning.
      const from = at >= 0 ? at : chunk.lastIndexOf(0x1e, -1);
      const partial = from >= 0 && (at >= 0 || (chunk.length - from < marker.length && marker.startsWith(chunk.subarray(from).toString("latin1"))));
      const keep = partial ? from : chunk.length;
      if (keep > 0) job.handlers[stream](chunk.subarray(0, keep));
      this.held[stream] = chunk.subarray(keep);
      return;
    }
    if (at > 0) job.handlers[stream](chunk.subarray(0, at));
    // The stdout marker carries the command's exit status.
    if (stream === "stdout") job.status = Number(chunk.subarray(at + marker.length, eol).toString("latin1"));
    job.ended[stream] = true;
    this.maybeEnd(job);
  }

  private maybeEnd(job: Job): void {
    if (job.status === undefined || !job.ended.stdout || !job.ended.stderr) return;
    this.job = undefined;
    this.onBusy(false);
    // The shell reports a subshell killed by signal N as 128 + N.
    const signal = job.status > 128 ? signalNames.get(job.status - 128) : undefined;
    job.handlers.close(signal ? null : job.status, signal ?? null);
  }

  private die(): void {
    if (this.dead) return;
    this.dead = true;
    const job = this.job;
    this.job = undefined;
    if (!job) return;
    this.onBusy(false);
    if (job.killedBy) job.handlers.close(null, job.killedBy);
    else job.handlers.error(new Error("the command helper shell exited unexpectedly"));
  }

  /**
   * Starts the job named in `line`: written straight to the pipe's descriptor, which for a
   * couple of bytes costs a fraction of a trip through the stream machinery; through the stream
   * when the descriptor is not at hand or the pipe is full.
   */
  private signal(line: string): void {
    const stdin = this.child.stdin!;
    const fd = (stdin as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd === "number" && fd >= 0 && stdin.writableLength === 0) {
      try {
        const n = writeSync(fd, line);
        if (n === line.length) return;
        line = line.slice(n);
      } catch {
        /* EAGAIN: the stream queues it */
      }
    }
    stdin.write(line);
  }
}

/** Helpers of one run: as many as commands run at once, closed when the run ends. */
export class ShellLauncher {
  /** The environment when the run began, read once: every read of process.env is a native call. */
  readonly baseEnv: Readonly<NodeJS.ProcessEnv> = { ...process.env };
  private readonly helpers: ShellHelper[] = [];
  private readonly disabled = process.env.TRAINYARD_SPAWN === "direct";
  private dir?: string;
  private made = 0;
  private readonly cwds = new Set<string>();
  private running = 0;
  private keepAlive?: NodeJS.Timeout;

  /**
   * Starts `/bin/sh -c command` with the run's environment plus `extra`, or returns undefined
   * when only a direct spawn can run it.
   */
  start(command: string, extra: NodeJS.ProcessEnv, cwd: string, handlers: CommandHandlers): StartedCommand | undefined {
    if (this.disabled) return undefined;
    if (!this.cwds.has(cwd)) {
      if (!existsSync(cwd)) return undefined;
      this.cwds.add(cwd);
    }
    for (let i = this.helpers.length - 1; i >= 0; i--) if (this.helpers[i].dead) this.helpers.splice(i, 1);
    let helper = this.helpers.find((h) => !h.job);
    if (!helper) {
      this.dir ??= mkdtempSync(join(tmpdir(), "trainyard-sh-"));
      this.helpers.push((helper = new ShellHelper(this.baseEnv, join(this.dir, `job-${++this.made}.sh`), (busy) => this.busy(busy))));
    }
    const h = helper;
    const job = h.run(command, extra, cwd, handlers);
    return job && { kill: (signal) => h.kill(job, signal) };
  }

  /** Keeps the process alive while any helper runs a command (helpers themselves never do). */
  private busy(busy: boolean): void {
    this.running += busy ? 1 : -1;
    if (this.running === 1 && busy) (this.keepAlive ??= setInterval(() => undefined, 2 ** 30)).ref();
    else if (this.running === 0) this.keepAlive?.unref();
  }

  close(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    for (const h of this.helpers) h.close();
    this.helpers.length = 0;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
