/**
 * `trainyard status`: the daemon leader and its heartbeat age, every trigger's last tick and lag,
 * queued and running runs. Exits 1 when something is wrong (a stale or missing daemon, a failing
 * trigger): silence must never look like "nothing due".
 */
import { daemonHealth, type DaemonHealth } from "../../daemon/daemon-health.js";
import { openTickStore } from "../../daemon/open-tick-store.js";
import { has, intFlag, type ParsedArgs } from "../args.js";
import { bold, dim, duration, green, red, table, when, yellow } from "../format.js";
import { openHome } from "../open-home.js";

export async function statusCommand(args: ParsedArgs): Promise<number> {
  const ty = await openHome(args);
  const store = await openTickStore(ty);
  try {
    const health = await daemonHealth(store, ty.metadata, { staleAfterMs: intFlag(args, "stale-after") });
    if (has(args, "json")) process.stdout.write(`${JSON.stringify(health)}\n`);
    else printHealth(health);
    return health.problems.length ? 1 : 0;
  } finally {
    await store.close();
    await ty.close();
  }
}

function printHealth(h: DaemonHealth): void {
  const out: string[] = [];
  if (!h.leader) out.push(`${bold("daemon")}  ${red("not running")}`);
  else {
    const state = h.state === "ok" ? green("ok") : red("STALE");
    const heartbeat = `heartbeat ${duration(h.leader.heartbeatAgeMs)} ago`;
    out.push(
      `${bold("daemon")}  ${state}  leader ${h.leader.process}, ${heartbeat}, leading since ${when(h.leader.since)}`,
    );
  }
  out.push("");
  if (h.triggers.length) {
    const rows = h.triggers.map((t) => [
      t.trigger,
      t.paused ? yellow("paused") : t.failures ? red(`failing x${t.failures}`) : green("active"),
      t.evaluationAgeMs === undefined ? dim("never") : `${duration(t.evaluationAgeMs)} ago`,
      t.lastTick ? `${when(t.lastTick.scheduledAt)} ${t.lastTick.status}` : dim("none"),
      t.lagMs === undefined ? "" : duration(t.lagMs),
    ]);
    out.push(table([["trigger", "state", "evaluated", "last tick (UTC)", "lag"].map(dim), ...rows]));
  } else out.push(dim("no triggers have state yet"));
  out.push("");
  out.push(
    `${bold("queued")} ${h.queued.length}${
      h.queued.length
        ? `: ${h.queued
            .slice(0, 10)
            .map((q) => `${q.runId} (${q.pipeline})`)
            .join(", ")}`
        : ""
    }`,
  );
  out.push(
    `${bold("running")} ${h.running.length}${
      h.running.length
        ? `: ${h.running
            .slice(0, 10)
            .map((r) => `${r.runId} (${r.pipeline}, ${r.trigger})`)
            .join(", ")}`
        : ""
    }`,
  );
  for (const p of h.problems) out.push(red(`problem: ${p}`));
  process.stdout.write(`${out.join("\n")}\n`);
}
