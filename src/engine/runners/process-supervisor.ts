/**
 * Keeps track of every process a run starts, so that none outlives its step or its orchestrator.
 * Each process group a run starts (helper shells, argv commands, isolated steps) is recorded as
 * `<workRoot>/procs/<runId>/<token>.<pgid>.pg` holding the leader's start time, next to
 * `<token>.owner` naming this process; `reapOrphans` reads them on resume. A watchdog shell
 * reading a pipe from this process kills the recorded groups when the pipe ends, i.e. when this
 * process dies, even by SIGKILL. Every command also carries an attempt token in its environment,
 * which `setsid` keeps: processes that left their group are found by it in /proc/<pid>/environ.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processStartTicks, selfIdentity } from "../../store/process-identity.js";

/** This orchestrator process among all others, in tokens, record names and work directories. */
export const PROCESS_TOKEN = randomBytes(6).toString("hex");
/** The environment variable that carries a command's attempt token. */
export const ATTEMPT_TOKEN_ENV = "TRAINYARD_ATTEMPT_TOKEN";

let attempts = 0;

/** A token no other attempt of any process has. */
export function newAttemptToken(): string {
  return `${PROCESS_TOKEN}-${++attempts}`;
}

export function procsDir(workRoot: string, runId: string): string {
  return join(workRoot, "procs", runId.replace(/[^A-Za-z0-9_.-]/g, "_"));
}

// On EOF of its stdin (this process is gone) it kills each recorded group whose leader is the
// one recorded (or whose leader has exited: its pgid cannot be reused while the group lives),
// then every process carrying one of this process's attempt tokens.
const WATCHDOG = `trap '' HUP INT TERM
dirs=
while IFS= read -r d; do dirs="$dirs$d
"; done
ifs=$IFS
IFS='
'
for d in $dirs; do
  IFS=$ifs
  for f in "$d/$1".*.pg; do
    [ -f "$f" ] || continue
    pg=\${f##*/$1.}; pg=\${pg%.pg}
    read -r st < "$f" || st=
    if read -r stat < /proc/$pg/stat 2>/dev/null; then
      set -- "$1" \${stat##*) }
      [ "\${21}" = "$st" ] || continue
    fi
    kill -KILL -- -$pg 2>/dev/null
  done
done
for e in $(grep -lzs "^${ATTEMPT_TOKEN_ENV}=$1-" /proc/[0-9]*/environ); do
  p=\${e#/proc/}; kill -KILL \${p%/environ} 2>/dev/null
done`;

let watchdog: ChildProcess | undefined;
const watched = new Set<string>();

/** Tells the watchdog (started on first use) about a run's record directory. */
function watch(dir: string): void {
  if (watched.has(dir)) return;
  if (!watchdog) {
    watchdog = spawn("/bin/sh", ["-c", WATCHDOG, "trainyard-watchdog", PROCESS_TOKEN], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
    watchdog.on("error", () => undefined);
    watchdog.stdin!.on("error", () => undefined);
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?(): void }).unref?.();
  }
  watched.add(dir);
  watchdog.stdin!.write(`${dir}\n`);
}

/**
 * Records a process group of the run (its leader `pgid` has just started) until the returned
 * function is called, once the group has ended.
 */
export function recordGroup(workRoot: string, runId: string, pgid: number): () => void {
  const dir = procsDir(workRoot, runId);
  const file = join(dir, `${PROCESS_TOKEN}.${pgid}.pg`);
  const ticks = processStartTicks(pgid) ?? 0;
  try {
    writeFileSync(file, `${ticks}\n`);
  } catch {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${PROCESS_TOKEN}.owner`), JSON.stringify(selfIdentity()));
    writeFileSync(file, `${ticks}\n`);
  }
  watch(dir);
  return () => {
    try {
      unlinkSync(file);
    } catch {
      /* gone with the directory */
    }
  };
}

/** Removes the run's record directory when no group of it is left (the run has ended). */
export function releaseRun(workRoot: string, runId: string): void {
  const dir = procsDir(workRoot, runId);
  try {
    const left = readdirSync(dir);
    if (left.some((name) => name !== `${PROCESS_TOKEN}.owner`)) return;
    unlinkSync(join(dir, `${PROCESS_TOKEN}.owner`));
    rmdirSync(dir);
  } catch {
    /* never made, or another orchestrator's records are there */
  }
}

/** Signals a process group; false when it no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Kills every process whose environment carries one of `tokens` (a token ending in "-" matches
 * as a prefix: every attempt of one orchestrator). Returns the pids killed, by token.
 */
export function killByToken(tokens: readonly string[]): Map<string, number[]> {
  const killed = new Map<string, number[]>();
  if (!tokens.length) return killed;
  const needles = tokens.map((t) => Buffer.from(`\0${ATTEMPT_TOKEN_ENV}=${t}${t.endsWith("-") ? "" : "\0"}`));
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => p.charCodeAt(0) <= 57 && p !== String(process.pid));
  } catch {
    return killed;
  }
  for (const pid of pids) {
    let env: Buffer;
    try {
      env = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue;
    }
    if (!env.includes(`${ATTEMPT_TOKEN_ENV}=`)) continue;
    // The environment is NUL-separated: framed, its first variable matches too.
    const framed = Buffer.concat([NUL, env, NUL]);
    const at = needles.findIndex((n) => framed.includes(n));
    if (at < 0) continue;
    try {
      process.kill(Number(pid), "SIGKILL");
      const list = killed.get(tokens[at]) ?? [];
      killed.set(tokens[at], [...list, Number(pid)]);
    } catch {
      /* already gone */
    }
  }
  return killed;
}

const NUL = Buffer.from([0]);

/** Ended attempts whose strays the next sweep looks for, with who to tell about them. */
const retired = new Map<string, ((pids: number[]) => void) | undefined>();
let sweep: NodeJS.Timeout | undefined;
/** Strays of ended attempts are looked for at most this often: a sweep reads all of /proc. */
const SWEEP_MS = 500;

/**
 * Marks an attempt as ended: any process still carrying its token (a background child, a
 * `setsid` escapee) is killed by the next sweep, within SWEEP_MS, and reported to `onStrays`.
 */
export function retireAttempt(token: string, onStrays?: (pids: number[]) => void): void {
  retired.set(token, onStrays);
  sweep ??= setTimeout(sweepStrays, SWEEP_MS).unref();
}

/** Kills the strays of every retired attempt now. */
export function sweepStrays(): void {
  clearTimeout(sweep);
  sweep = undefined;
  const listeners = new Map(retired);
  retired.clear();
  for (const [token, pids] of killByToken([...listeners.keys()])) listeners.get(token)?.(pids);
}
