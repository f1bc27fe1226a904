/**
 * CPU seconds used by the processes of a benchmark (Linux /proc): named processes, and a server
 * with the children it forks (PostgreSQL's backends), counting children it already reaped.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS = 100; // USER_HZ on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, and cutime + cstime (reaped children), in seconds. */
  own: number;
  reaped: number;
  cmdline: string;
}

function statOf(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    const n = (i: number) => Number(f[i - 3]) / TICKS;
    return { pid, ppid: Number(f[1]), own: n(14) + n(15), reaped: n(16) + n(17), cmdline };
  } catch {
    return undefined; // ended meanwhile
  }
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync("/proc"))
    if (/^\d+$/.test(name)) out.push(...[statOf(Number(name))].filter((s) => !!s));
  return out;
}

/** Processes to measure: by pid, or a server found by its command line, with its children. */
export type CpuTarget = { name: string; pid: number } | { name: string; server: (cmdline: string) => boolean };

/** CPU seconds of each target now (a server: itself, its live children and those it reaped). */
export function cpuSeconds(targets: CpuTarget[]): Map<string, number> {
  const procs = allProcesses();
  const out = new Map<string, number>();
  for (const t of targets) {
    let roots = "pid" in t ? procs.filter((p) => p.pid === t.pid) : procs.filter((p) => t.server(p.cmdline));
    // A server's root is the one whose parent is not itself a match (PostgreSQL's postmaster).
    roots = roots.filter((r) => !roots.some((o) => o.pid === r.ppid));
    let total = 0;
    for (const root of roots) {
      total += root.own + ("server" in t ? root.reaped : 0);
      if ("server" in t) for (const child of procs) if (child.ppid === root.pid) total += child.own;
    }
    out.set(t.name, (out.get(t.name) ?? 0) + total);
  }
  return out;
}
