/**
 * Starts shell-string commands through a few long-lived /bin/sh helpers instead of forking Node
 * for each: forking the orchestrator costs milliseconds per command, a small shell a fraction of
 * that. Each helper runs one command at a time in a subshell, with what `sh -c` would give it, and
 * leads its own process group so that stopping a command stops its whole tree. Why each detail
 * (forking ahead, staging, job files, SCHED_BATCH): docs/performance.md, "Design notes".
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { removeValues } from "./command-env.js";
import { releaseRun } from "./process-supervisor.js";

export interface CommandHandlers {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** Once: the command ended (and its output before the end has been delivered). */
  close(code: number | null, signal: NodeJS.Signals | null): void;
  error(err: Error): void;
  /** A staged command that had to wait has started. */
  started?(): void;
}

export interface StartedCommand {
  /** Signals the command's whole process group. */
  kill(signal: NodeJS.Signals): void;
  /** The process group the command runs in, once it has started. */
  readonly group?: number;
}

/** Records a process group of the run until the returned function is called (process-supervisor). */
export type GroupTracker = (pgid: number) => () => void;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Jobs are named through job files (sh reads a pipe a byte at a time); helper variables are
// prefixed so they never shadow the environment; the end of stdin ends the helper and its group.
// The helper runs under SCHED_BATCH where chrt allows (see docs/performance.md).
const HELPER_LOOP = `__ty_nl='
'
__ty_n=0
[ -x /usr/bin/chrt ] && /usr/bin/chrt -b -p 0 $$ >/dev/null 2>&1
while :; do
  (IFS= read -r __ty_f || { kill -9 0; exit 1; }; exec </dev/null; . "$1.$__ty_f")
  __ty_s=$?
  __ty_n=$((__ty_n + 1))
  printf '\\036TYEND%s %s\\n' $__ty_n $__ty_s
  printf '\\036TYEND%s 0\\n' $__ty_n >&2
done`;
const quote = (s: string) =>
  s.includes("'") || s.includes("\n") ? `'${s.replace(/'/g, `'\\''`).replace(/\n/g, `'"$__ty_nl"'`)}'` : `'${s}'`;
const EMPTY = Buffer.alloc(0);
const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** A command given to the launcher. */
interface Entry {
  command: string;
  extra: NodeJS.ProcessEnv;
  cwd: string;
  handlers: CommandHandlers;
  /** Its job, once a helper has it. */
  job?: Job;
  /** Cancelled before it started. */
  killedBy?: NodeJS.Signals;
}

interface Job {
  id: number;
  entry: Entry;
  helper: ShellHelper;
  /** Which job file holds it. */
  slot: number;
  /** The signal that stopped the command's process group, helper included. */
  killedBy?: NodeJS.Signals;
  status?: number;
  ended: { stdout: boolean; stderr: boolean };
  startedAt: number;
}

/** Job files per helper: the running job's, a staged one's, and the next one being written. */
const SLOTS = 3;

class ShellHelper {
  readonly child: ChildProcess;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The running job first, then at most one staged behind it. */
  readonly jobs: Job[] = [];
  dead = false;
  /** Its process group was signalled: it takes no more jobs. */
  stopping = false;
  private seq = 0;
  /** Drops the record of its process group. */
  private readonly forget: () => void;
  private jobFds: Array<number | undefined> = [];
  private readonly jobLengths = new Array<number>(SLOTS).fill(0);
  private readonly held: Record<"stdout" | "stderr", Buffer> = { stdout: EMPTY, stderr: EMPTY };

  constructor(
    env: NodeJS.ProcessEnv,
    private readonly jobFile: string,
    track: GroupTracker | undefined,
    private readonly events: {
      /** A job started (true) or ended (false): a busy helper must keep the process alive. */
      busy(busy: boolean): void;
      /** A job ended; `ms` is how long it ran. */
      ended(ms: number): void;
      /** Jobs that never started, left by a helper that stopped. */
      orphaned(entries: Entry[]): void;
    },
  ) {
    this.env = { ...env };
    this.child = spawn("/bin/sh", ["-c", HELPER_LOOP, "trainyard-sh", jobFile], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    this.child.stdout!.on("data", (c: Buffer) => this.output("stdout", c));
    this.child.stderr!.on("data", (c: Buffer) => this.output("stderr", c));
    this.child.stdin!.on("error", () => undefined);
    this.forget = (this.child.pid ? track?.(this.child.pid) : undefined) ?? (() => undefined);
    this.child.on("error", () => this.die());
    this.child.on("exit", () => (this.forget(), this.die()));
    // An idle helper never keeps the process alive; the launcher holds it while one is busy.
    for (const h of [this.child, this.child.stdout, this.child.stderr] as Array<{ unref(): void } | null>) h?.unref();
  }

  /** The running job, if any. */
  get job(): Job | undefined {
    return this.jobs[0];
  }

  /** Alive and not being stopped. */
  get usable(): boolean {
    return !this.dead && !this.stopping;
  }

  /**
   * Runs the entry's command with the helper's environment plus its `extra` (which wins), after
   * the running job when there is one. False when the helper cannot run it.
   */
  run(entry: Entry): boolean {
    const { extra, cwd } = entry;
    const changes: string[] = [];
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined || this.env[k] === v) continue;
      if (!NAME.test(k)) return false;
      changes.push(`${k}=${quote(v)}`);
    }
    const unset: string[] = [];
    // cd sets OLDPWD, which a direct spawn would not have passed on.
    const oldpwd = extra.OLDPWD ?? this.env.OLDPWD;
    if (oldpwd === undefined) unset.push("OLDPWD");
    else changes.push(`OLDPWD=${quote(oldpwd)}`);
    const setup = [
      `cd -- ${quote(cwd)} || exit 127`,
      `unset ${unset.join(" ")}`,
      ...(changes.length ? [`export ${changes.join(" ")}`] : []),
    ];
    // Run by the waiting subshell, whose stdin is already /dev/null.
    const line = `${setup.join("; ")}; set --; eval ${quote(entry.command)}\n`;
    const id = this.seq + 1;
    const slot = id % SLOTS;
    try {
      this.writeJob(slot, line);
    } catch {
      return false;
    }
    this.seq = id;
    const job: Job = { id, entry, helper: this, slot, ended: { stdout: false, stderr: false }, startedAt: Date.now() };
    entry.job = job;
    this.jobs.push(job);
    this.events.busy(true);
    this.signal(`${slot}\n`);
    return true;
  }

  /** Stops a job: the running one by signalling the helper's process group; a staged one never starts. */
  kill(job: Job, signal: NodeJS.Signals): void {
    const at = this.jobs.indexOf(job);
    if (at < 0) return;
    job.killedBy ??= signal;
    if (at > 0) {
      // Not started yet (or only just): its job now exits at once, and should it have started
      // already it is stopped when its turn is seen (see ended).
      try {
        this.writeJob(job.slot, "exit 143\n");
      } catch {
        /* it is stopped when it starts */
      }
      return;
    }
    this.signalGroup(signal);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    this.stopping = true;
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      /* already gone */
    }
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

  /** Ends the helper: on the end of its stdin it kills its own process group. */
  close(): void {
    this.child.stdin!.end();
    this.closeFiles();
    this.forget();
  }

  private closeFiles(): void {
    for (const fd of this.jobFds) if (fd !== undefined) closeSync(fd);
    this.jobFds = [];
  }

  private output(stream: "stdout" | "stderr", data: Buffer): void {
    // The first job whose output on this stream has not ended yet.
    const job = this.jobs[0]?.ended[stream] ? this.jobs.find((j) => !j.ended[stream]) : this.jobs[0];
    if (!job) return;
    const held = this.held[stream];
    const chunk = held.length ? Buffer.concat([held, data]) : data;
    this.held[stream] = EMPTY;
    const marker = `\u001eTYEND${job.id} `;
    const at = chunk.indexOf(marker);
    const eol = at < 0 ? -1 : chunk.indexOf(0x0a, at);
    if (eol < 0) {
      // A read can end inside the marker: hold back a tail that could be its beginning.
      const from = at >= 0 ? at : chunk.lastIndexOf(0x1e, -1);
      const partial =
        from >= 0 &&
        (at >= 0 ||
          (chunk.length - from < marker.length && marker.startsWith(chunk.subarray(from).toString("latin1"))));
      const keep = partial ? from : chunk.length;
      if (keep > 0) job.entry.handlers[stream](chunk.subarray(0, keep));
      this.held[stream] = chunk.subarray(keep);
      return;
    }
    if (at > 0) job.entry.handlers[stream](chunk.subarray(0, at));
    // The stdout marker carries the command's exit status.
    if (stream === "stdout") job.status = Number(chunk.subarray(at + marker.length, eol).toString("latin1"));
    job.ended[stream] = true;
    this.maybeEnd(job);
    // What follows the marker belongs to the next job.
    if (eol + 1 < chunk.length) this.output(stream, chunk.subarray(eol + 1));
  }

  private maybeEnd(job: Job): void {
    if (job.status === undefined || !job.ended.stdout || !job.ended.stderr) return;
    this.jobs.splice(this.jobs.indexOf(job), 1);
    const now = Date.now();
    this.events.busy(false);
    // A staged job started when this one ended.
    const next = this.jobs[0];
    if (next) {
      next.startedAt = now;
      if (next.killedBy) this.signalGroup(next.killedBy);
      else next.entry.handlers.started?.();
    }
    this.events.ended(now - job.startedAt);
    // The shell reports a subshell killed by signal N as 128 + N.
    const signal = job.killedBy ?? (job.status > 128 ? signalNames.get(job.status - 128) : undefined);
    job.entry.handlers.close(signal ? null : job.status, signal ?? null);
  }

  private die(): void {
    if (this.dead) return;
    this.dead = true;
    this.closeFiles();
    const [head, ...staged] = this.jobs.splice(0);
    if (!head) return;
    for (let i = 0; i <= staged.length; i++) this.events.busy(false);
    // Staged jobs had not started: another helper runs them (a cancelled one just ends).
    for (const job of staged) {
      job.entry.job = undefined;
      if (job.killedBy) job.entry.handlers.close(null, job.killedBy);
    }
    this.events.orphaned(staged.filter((j) => !j.killedBy).map((j) => j.entry));
    if (head.killedBy) head.entry.handlers.close(null, head.killedBy);
    else head.entry.handlers.error(new Error("the command helper shell exited unexpectedly"));
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

/**
 * A command staged into a helper waits behind one that has run less than this long, in a run
 * whose commands have taken less than this on average (after STAGE_AFTER of them).
 */
const SHORT_MS = 20;
const STAGE_AFTER = 4;

/** Helpers of one run: at most `helpers` commands run at once; closed when the run ends. */
export class ShellLauncher {
  /** The environment when the run began, read once: every read of process.env is a native call. */
  readonly baseEnv: Readonly<NodeJS.ProcessEnv> = { ...process.env };
  private readonly helpers: ShellHelper[] = [];
  private readonly disabled = process.env.TRAINYARD_SPAWN === "direct";
  private readonly maxHelpers: number;
  private readonly shortMs: number;
  private dir?: string;
  private made = 0;
  private readonly cwds = new Set<string>();
  private running = 0;
  private keepAlive?: NodeJS.Timeout;
  /** Staged commands waiting for a helper. */
  private readonly waiting: Entry[] = [];
  /** Records helper process groups (see process-supervisor), given by the first command. */
  private track?: GroupTracker;
  /** The run's work root and id, whose value files go when the launcher closes. */
  private run?: { workRoot: string; runId: string };
  /** Staged commands sent to a busy helper, and kept waiting here. */
  readonly staged = { behind: 0, waited: 0 };
  /** Average run time of this run's commands (exponentially weighted), and how many ended. */
  private typicalMs = 0;
  private endedCount = 0;
  private readonly events = {
    busy: (busy: boolean) => this.busy(busy),
    ended: (ms: number) => this.ended(ms),
    orphaned: (entries: Entry[]) => {
      this.waiting.unshift(...entries);
      this.drain();
    },
  };

  /** `shortMs`: what counts as a short command when staging (SHORT_MS). */
  constructor(opts: { helpers?: number; shortMs?: number } = {}) {
    this.maxHelpers = opts.helpers ?? Infinity;
    this.shortMs = opts.shortMs ?? SHORT_MS;
  }

  /** Whether commands can be staged at all (see start). */
  get staging(): boolean {
    return !this.disabled && this.maxHelpers !== Infinity;
  }

  /** Environment names a helper can pass on (others make start fall back to a direct spawn). */
  static plainNames(env: Record<string, string | undefined> | undefined): boolean {
    return !env || Object.keys(env).every((k) => NAME.test(k));
  }

  /**
   * Starts `/bin/sh -c command` with the run's environment plus `extra`, or returns undefined
   * when only a direct spawn can run it. With `stage`, the command may have to wait for a helper
   * (the caller gave it beyond the launcher's limit): `handlers.started` says when it starts.
   */
  start(
    command: string,
    extra: NodeJS.ProcessEnv,
    cwd: string,
    handlers: CommandHandlers,
    stage = false,
    track?: GroupTracker,
  ): StartedCommand | undefined {
    if (this.disabled) return undefined;
    this.track ??= track;
    if (!this.cwds.has(cwd)) {
      if (!existsSync(cwd)) return undefined;
      this.cwds.add(cwd);
    }
    for (let i = this.helpers.length - 1; i >= 0; i--) if (!this.helpers[i].usable) this.helpers.splice(i, 1);
    const entry: Entry = { command, extra, cwd, handlers };
    let helper = this.helpers.find((h) => !h.job);
    if (!helper && this.helpers.length >= this.maxHelpers) {
      if (stage) {
        const now = Date.now();
        const ahead = this.endedCount >= STAGE_AFTER && this.typicalMs < this.shortMs;
        helper = ahead
          ? this.helpers.find((h) => h.jobs.length === 1 && now - h.jobs[0].startedAt < this.shortMs)
          : undefined;
      }
      if (!helper) {
        // Every helper is taken, by staged commands too: a command within the limit (a retry of
        // a step that holds its slot) goes first in the line, a staged one last.
        if (stage) this.waiting.push(entry);
        else this.waiting.unshift(entry);
        this.staged.waited++;
        return this.handle(entry);
      }
      this.staged.behind++;
    }
    helper ??= this.newHelper();
    return helper.run(entry) ? this.handle(entry) : undefined;
  }

  private handle(entry: Entry): StartedCommand {
    return {
      get group() {
        const job = entry.job;
        // A staged job shares the group of the job ahead of it only once that one has ended.
        return job && job.helper.jobs[0] === job ? job.helper.child.pid : undefined;
      },
      kill: (signal) => {
        const job = entry.job;
        if (job) return job.helper.kill(job, signal);
        // Still waiting: it never runs.
        const at = this.waiting.indexOf(entry);
        if (at < 0 || entry.killedBy) return;
        entry.killedBy = signal;
        this.waiting.splice(at, 1);
        queueMicrotask(() => entry.handlers.close(null, signal));
      },
    };
  }

  private newHelper(): ShellHelper {
    this.dir ??= mkdtempSync(join(tmpdir(), "trainyard-sh-"));
    const helper = new ShellHelper(this.baseEnv, join(this.dir, `job-${++this.made}.sh`), this.track, this.events);
    this.helpers.push(helper);
    return helper;
  }

  /** A helper's job ended. */
  private ended(ms: number): void {
    this.typicalMs = this.endedCount++ ? 0.8 * this.typicalMs + 0.2 * ms : ms;
    this.drain();
  }

  /** Starts waiting commands on idle helpers, and on new ones in place of helpers that stopped. */
  private drain(): void {
    while (this.waiting.length) {
      for (let i = this.helpers.length - 1; i >= 0; i--) if (!this.helpers[i].usable) this.helpers.splice(i, 1);
      const helper =
        this.helpers.find((h) => !h.job) ?? (this.helpers.length < this.maxHelpers ? this.newHelper() : undefined);
      if (!helper) return;
      const entry = this.waiting.shift()!;
      if (helper.run(entry)) entry.handlers.started?.();
      else entry.handlers.error(new Error("the command helper shell could not take the command"));
    }
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
    if (this.run) {
      removeValues(this.run.workRoot, this.run.runId);
      releaseRun(this.run.workRoot, this.run.runId);
    }
    this.run = undefined;
  }

  /** The run this launcher serves (its commands' value files are removed on close). */
  useRun(workRoot: string, runId: string): void {
    this.run ??= { workRoot, runId };
  }
}
