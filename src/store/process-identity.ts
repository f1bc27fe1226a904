/**
 * Who a process is, beyond its pid: host, boot and the process's start time. A pid alone is
 * reused by the kernel, so "is the owner of this run (lease, journal) still alive?" compares
 * the start time read from /proc as well; a recycled pid then reads as dead, not as an
 * unrelated live process.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

export interface ProcessIdentity {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id: a pid from before a reboot is dead whatever runs now. */
  bootId: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); 0 where unknown. */
  startTicks: number;
}

let bootIdCache: string | undefined;

function bootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      bootIdCache = "";
    }
  }
  return bootIdCache;
}

/** The start time of a live process in clock ticks since boot; undefined when it is gone. */
export function processStartTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from its end.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

let self: ProcessIdentity | undefined;

export function selfIdentity(): ProcessIdentity {
  self ??= { pid: process.pid, host: hostname(), bootId: bootId(), startTicks: processStartTicks(process.pid) ?? 0 };
  return self;
}

/**
 * Whether the process is still running: true or false on this host, undefined for a process of
 * another host (which only a lease expiry can tell).
 */
export function identityAlive(id: ProcessIdentity): boolean | undefined {
  const me = selfIdentity();
  if (id.host !== me.host) return undefined;
  if (id.bootId && me.bootId && id.bootId !== me.bootId) return false;
  if (id.pid === me.pid) return id.startTicks === me.startTicks || id.startTicks === 0;
  const ticks = processStartTicks(id.pid);
  if (ticks === undefined) return false;
  // Without /proc (ticks 0 on both sides) a pid that answers a signal is taken as alive.
  return id.startTicks === 0 ? signalable(id.pid) : ticks === id.startTicks;
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** "pid 4242 on host build-1" for messages. */
export function describeIdentity(id: ProcessIdentity): string {
  return `pid ${id.pid} on host ${id.host}`;
}
