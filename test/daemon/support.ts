/** Starting `trainyard daemon` as a real child process, and reading the ledger it leaves. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SqliteTickStore } from "../../src/store/sqlite-tick-store.js";
import type { RunRecord } from "../../src/store/metadata-store.js";
import type { QueuedRun, TickRecord, TickStore } from "../../src/store/tick-store.js";
import { REPO } from "../engine/support.js";
import { BIN } from "../cli/support.js";

export const DAEMON_FIXTURES = path.join(REPO, "test", "fixtures", "daemon");
export const TICKING = path.join(DAEMON_FIXTURES, "ticking.ts");

/** Short timings so takeovers and orphan recovery happen within a test. */
export const FAST = ["--interval", "200", "--lease-ttl", "2000", "--launch-grace", "4000", "--orphan-scan", "500"];

export interface DaemonProcess {
  child: ChildProcess;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startDaemon(home: string, args: string[], env: Record<string, string> = {}): DaemonProcess {
  const child = spawn(process.execPath, [BIN, "daemon", ...args], {
    cwd: REPO,
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1", TRAINYARD_DEBUG: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("close", (code, signal) => r({ code, signal })),
  );
  return { child, log: () => out, exited };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  log?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${log ? `\n--- daemon log ---\n${log()}` : ""}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export interface Ledger {
  /** The trigger's stored cursor. */
  cursor: unknown;
  ticks: TickRecord[];
  queue: QueuedRun[];
  runs: RunRecord[];
}

/** Everything the ledger and the run table hold for one trigger (a fresh connection each time). */
export async function readLedger(
  home: string,
  trigger: string,
  open?: () => Promise<{ store: TickStore; runs: () => Promise<RunRecord[]>; close(): Promise<void> }>,
): Promise<Ledger> {
  const h = open ? await open() : openSqlite(home);
  try {
    const ticks = (await h.store.listTicks(trigger, { limit: 10_000 })).reverse();
    const queue = [
      ...(await h.store.listQueuedRuns({ status: "queued" })),
      ...(await h.store.listQueuedRuns({ status: "launched" })),
    ];
    return { cursor: (await h.store.getTriggerState(trigger))?.cursor, ticks, queue, runs: await h.runs() };
  } finally {
    await h.close();
  }
}

function openSqlite(home: string) {
  const meta = new SqliteMetadataStore(path.join(home, "metadata.db"));
  const store = new SqliteTickStore(meta);
  return { store, runs: () => meta.listRuns({ limit: 10_000 }), close: () => meta.close() };
}

const TERMINAL = new Set(["succeeded", "failed", "rejected", "cancelled"]);

/**
 * True once the oldest `n` requested ticks exist and every run they asked for has finished. Later
 * ticks may still be running: a schedule every 2 s outpaces runs of a few seconds on a busy machine.
 */
export function settled(l: Ledger, n: number): boolean {
  const requested = l.ticks.filter((t) => t.status === "requested").sort((a, b) => a.scheduledAt - b.scheduledAt);
  if (requested.length < n) return false;
  const finished = new Set(l.runs.filter((r) => TERMINAL.has(r.status)).map((r) => r.id));
  return requested.slice(0, n).every((t) => (t.runIds ?? []).length > 0 && t.runIds!.every((id) => finished.has(id)));
}

/**
 * The exactly-once invariants: each requested tick has one queued run and one succeeded run of
 * that id; no run exists that no tick asked for; consecutive slots are `stepMs` apart (none lost).
 * The newest ticks may still wait in the queue (a daemon stopped right after recording them): their
 * runs are not started yet, which the queue keeps for the next daemon, and never older than a run.
 */
export function exactlyOnceProblems(l: Ledger, stepMs: number): string[] {
  const problems: string[] = [];
  const runsById = new Map<string, RunRecord[]>();
  for (const r of l.runs) runsById.set(r.id, [...(runsById.get(r.id) ?? []), r]);
  const asked = new Set<string>();
  const requested = l.ticks.filter((t) => t.status === "requested").sort((a, b) => a.scheduledAt - b.scheduledAt);
  const waiting = new Set(l.queue.filter((q) => q.status === "queued").map((q) => q.runId));
  const lastStarted = Math.max(
    -Infinity,
    ...requested.filter((t) => t.runIds?.some((id) => runsById.has(id))).map((t) => t.scheduledAt),
  );
  for (const t of requested) {
    if (t.runIds?.length !== 1) problems.push(`tick ${t.key} has ${t.runIds?.length ?? 0} runs`);
    for (const id of t.runIds ?? []) {
      asked.add(id);
      const runs = runsById.get(id) ?? [];
      if (!runs.length && waiting.has(id) && t.scheduledAt > lastStarted) continue;
      if (runs.length !== 1) problems.push(`tick ${t.key}: run ${id} exists ${runs.length} times`);
      else if (runs[0].status !== "succeeded") problems.push(`tick ${t.key}: run ${id} ${runs[0].status}`);
    }
  }
  for (const r of l.runs) if (!asked.has(r.id)) problems.push(`run ${r.id} (${r.trigger}) was asked for by no tick`);
  const slots = requested.map((t) => t.scheduledAt).sort((a, b) => a - b);
  for (let i = 1; i < slots.length; i++) {
    if (slots[i] - slots[i - 1] !== stepMs)
      problems.push(
        `slots ${new Date(slots[i - 1]).toISOString()} -> ${new Date(slots[i]).toISOString()}: a tick is ` +
          `missing or doubled`,
      );
  }
  return problems;
}
