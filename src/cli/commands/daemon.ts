/** `trainyard daemon`: evaluates triggers and launches runs until SIGTERM/SIGINT, then drains. */
import { resolve } from "node:path";
import { Daemon, type DaemonOptions } from "../../daemon/daemon.js";
import { startDaemonHealthServer } from "../../daemon/daemon-health-server.js";
import { openTickStore } from "../../daemon/open-tick-store.js";
import type { Trainyard } from "../../engine/trainyard.js";
import { intFlag, keyValues, usage, type ParsedArgs } from "../args.js";
import { dim } from "../format.js";
import { openHome } from "../open-home.js";

/** Daemon options from parsed flags; the positionals are the pipeline modules. */
export function daemonOptionsFrom(args: ParsedArgs, log: (line: string) => void): DaemonOptions {
  const pipelineLimits: Record<string, number> = {};
  for (const [name, v] of Object.entries(keyValues(args, "pipeline-limit"))) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw usage(`--pipeline-limit ${name}=${v}: the limit must be a whole number >= 0`);
    pipelineLimits[name] = n;
  }
  const leaseTtlMs = intFlag(args, "lease-ttl");
  return {
    modules: args.positionals.map((m) => resolve(m)),
    maxConcurrentRuns: intFlag(args, "max-concurrent-runs"),
    pipelineLimits,
    intervalMs: intFlag(args, "interval"),
    leaseTtlMs,
    renewMs: leaseTtlMs === undefined ? undefined : Math.max(100, Math.floor(leaseTtlMs / 5)),
    launchGraceMs: intFlag(args, "launch-grace"),
    drainTimeoutMs: intFlag(args, "drain-timeout"),
    orphanScanMs: intFlag(args, "orphan-scan"),
    log,
  };
}

export interface RunningDaemon {
  stop(): void;
  finished: Promise<void>;
}

/**
 * Starts the daemon loop on `ty`; `stop()` drains it and closes its ledger. With `healthPort`,
 * /healthz and /readyz answer on that port until the daemon has stopped.
 */
export async function startDaemon(ty: Trainyard, opts: DaemonOptions, healthPort?: number): Promise<RunningDaemon> {
  const store = await openTickStore(ty);
  const daemon = new Daemon(ty, store, opts);
  const stuckAfterMs = Math.max(60_000, 3 * (opts.intervalMs ?? 1000));
  const health =
    healthPort === undefined ? undefined : await startDaemonHealthServer(daemon, { port: healthPort, stuckAfterMs });
  if (health) opts.log?.(`health probes on port ${health.port}: /healthz (alive), /readyz (leading)`);
  const finished = daemon
    .run()
    .finally(() => store.close())
    .finally(() => health?.close());
  return { stop: () => daemon.stop(), finished };
}

export async function daemonCommand(args: ParsedArgs): Promise<number> {
  const log = (line: string) => process.stderr.write(`${dim(new Date().toISOString())} ${line}\n`);
  const opts = daemonOptionsFrom(args, log);
  const ty = await openHome(args);
  const daemon = await startDaemon(ty, opts, intFlag(args, "health-port"));
  let signals = 0;
  const onSignal = (sig: string) => {
    if (++signals > 1) {
      log(`${sig} again: exiting now; running runs keep running and the next daemon adopts them`);
      process.exit(130);
    }
    log(`${sig}: draining (no new ticks or launches)`);
    daemon.stop();
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  await daemon.finished;
  await ty.close();
  return 0;
}
