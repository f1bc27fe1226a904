/** `trainyard daemon`: evaluates triggers and launches runs until SIGTERM/SIGINT, then drains. */
import { resolve } from "node:path";
import { Daemon } from "../../daemon/daemon.js";
import { openTickStore } from "../../daemon/open-tick-store.js";
import { intFlag, keyValues, usage, type ParsedArgs } from "../args.js";
import { dim } from "../format.js";
import { openHome } from "../open-home.js";

export async function daemonCommand(args: ParsedArgs): Promise<number> {
  const pipelineLimits: Record<string, number> = {};
  for (const [name, v] of Object.entries(keyValues(args, "pipeline-limit"))) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw usage(`--pipeline-limit ${name}=${v}: the limit must be a whole number >= 0`);
    pipelineLimits[name] = n;
  }
  const leaseTtlMs = intFlag(args, "lease-ttl");
  const ty = await openHome(args);
  const store = await openTickStore(ty);
  const log = (line: string) => process.stderr.write(`${dim(new Date().toISOString())} ${line}\n`);
  const daemon = new Daemon(ty, store, {
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
  });
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
  await daemon.run();
  await store.close();
  await ty.close();
  return 0;
}
