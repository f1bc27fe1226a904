/**
 * `trainyard workers`: per queue, the workers listed on it with their slots, the tasks they hold
 * now (claim and heartbeat ages) and its job counts. Exits 1 when tasks wait on a queue no worker
 * takes from, so that a script can alert on it.
 */
import { gatherWorkersOverview, type QueueOverview, withoutQueueExecutor } from "../../distributed/queue-overview.js";
import { queueOptions } from "../../distributed/queue-options.js";
import { has, one, type ParsedArgs } from "../args.js";
import { bold, dim, duration, green, red, table, yellow } from "../format.js";
import { openHome } from "../open-home.js";
import { withQueueStoreFlags } from "./worker.js";

export async function workersCommand(args: ParsedArgs): Promise<number> {
  const ty = await openHome(args);
  try {
    const configured = ty.stores?.executor ?? ty.executor;
    const redis = one(args, "redis");
    const postgres = one(args, "postgres");
    // --redis or --postgres reach the queues even where the config runs steps locally.
    const overview =
      configured.kind === "queue" || redis || postgres
        ? await gatherWorkersOverview(
            ty,
            queueOptions(
              withQueueStoreFlags(configured.kind === "queue" ? configured : { kind: "queue" }, redis, postgres),
            ),
            args.flags.get("queue") ?? [],
          )
        : withoutQueueExecutor();
    if (has(args, "json")) process.stdout.write(`${JSON.stringify(overview)}\n`);
    else {
      if (overview.note) process.stdout.write(`${dim(overview.note)}\n`);
      else process.stdout.write(`${dim(`queues at ${overview.queueStore}, lock ${overview.lockMs} ms`)}\n`);
      for (const q of overview.queues) process.stdout.write(`\n${printQueue(q)}\n`);
      for (const p of overview.problems) process.stdout.write(`${red("✘")} ${p}\n`);
    }
    return overview.problems.length ? 1 : 0;
  } finally {
    await ty.close();
  }
}

function printQueue(q: QueueOverview): string {
  const c = q.counts;
  const waiting = q.unattended ? red(`waiting ${c.waiting}`) : `waiting ${c.waiting}`;
  const failed = c.failed ? yellow(`failed ${c.failed}`) : `failed ${c.failed}`;
  const out = [
    `${bold(`queue ${q.queue}`)}  ${waiting}  active ${c.active}  delayed ${c.delayed}  ${failed}`,
    `  ${q.workers.length} worker(s), ${q.slots} slot(s)${q.workers.length ? "" : q.unattended ? red(": none") : ""}`,
  ];
  if (q.workers.length) {
    const rows = q.workers.map((w) => [
      w.label,
      `${w.slots} slot(s)`,
      w.address ?? "",
      w.connectedSeconds === undefined ? "" : `connected ${duration(w.connectedSeconds * 1000)} ago`,
    ]);
    out.push(indent(table(rows)));
  }
  out.push(`  ${q.running.length} running`);
  if (q.running.length) {
    const rows = q.running.map((t) => [
      t.runId,
      t.itemIndex === undefined ? t.stepId : `${t.stepId}[${t.itemIndex}]`,
      t.worker ?? "",
      `${duration(t.claimAgeMs)} ago`,
      `${duration(t.heartbeatAgeMs)} ago`,
      t.possiblyLost ? red("possibly lost") : green("ok"),
    ]);
    out.push(indent(table([["run", "step", "worker", "claimed", "heartbeat", "state"].map(dim), ...rows])));
  }
  return out.join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}
