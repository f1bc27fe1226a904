/** `trainyard gc`. */
import { DEFAULT_GRACE_MS } from "../../engine/gc.js";
import { queuesToTrim, trimFinishedJobs } from "../../distributed/finished-job-trim.js";
import { queueOptions } from "../../distributed/queue-options.js";
import { has, intFlag, one, usage, type ParsedArgs } from "../args.js";
import { bytes } from "../format.js";
import { openHome } from "../open-home.js";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30d", "12h", "15m", "0" -> ms. */
function duration(flag: string, text: string | undefined, units: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m || (m[2] && !units.includes(m[2])) || (!m[2] && m[1] !== "0")) {
    throw usage(
      `--${flag} expects a duration such as ${units.includes("m") ? "1h, 30m or 0" : "30d or 12h"}, got "${text}"`,
    );
  }
  return Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
}

export async function gcCommand(args: ParsedArgs): Promise<number> {
  const olderThanMs = duration("older-than", one(args, "older-than"), "dh");
  const graceMs = duration("grace", one(args, "grace"), "smhd");
  const keepJobs = intFlag(args, "keep-jobs");
  const dryRun = has(args, "dry-run");
  const ty = await openHome(args);
  try {
    const executor = ty.stores?.executor ?? ty.executor;
    // Read before gc removes fences: a finished run's queue still has its finished jobs.
    const queues = executor.kind === "queue" ? await queuesToTrim(ty.metadata) : undefined;
    const gc = await ty.gc({ keepLast: intFlag(args, "keep-last"), olderThanMs, graceMs, dryRun });
    // Without a queue executor there are no queue jobs, and nothing about them is said. A queue store out of
    // reach fails the command, after the report of what gc did remove.
    let trimFailed: unknown;
    const trimmed = queues
      ? await trimFinishedJobs(ty.metadata, queueOptions(executor), {
          ...{ queues, keep: keepJobs, graceMs: graceMs ?? DEFAULT_GRACE_MS, dryRun },
        }).catch((err: unknown) => void (trimFailed = err))
      : undefined;
    const r = trimmed === undefined ? gc : { ...gc, finishedJobsRemoved: trimmed };
    if (has(args, "json")) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      const verb = dryRun ? "would remove" : "removed";
      const kept = [
        r.runsKeptForModels.length ? `${r.runsKeptForModels.length} runs kept for registered models' lineage` : "",
        r.keptPending ? `${r.keptPending} objects of live runs` : "",
        r.keptYoung ? `${r.keptYoung} objects younger than the grace period` : "",
        r.keptInFlight ? `${r.keptInFlight} objects stored while a run was in flight` : "",
      ].filter(Boolean);
      const artifacts = `${r.artifactsRemoved} artifacts (${bytes(r.bytesFreed)})`;
      const jobs = "finishedJobsRemoved" in r ? `, ${r.finishedJobsRemoved} finished queue jobs` : "";
      const rest = `${r.fencesRemoved} task fences${jobs}, ${r.tempRemoved} temp files`;
      process.stdout.write(`${verb} ${r.runsRemoved.length} runs and ${artifacts}, ${rest}\n`);
      if (kept.length) process.stdout.write(`kept ${kept.join(", ")}\n`);
    }
    if (trimFailed !== undefined) throw trimFailed;
    return 0;
  } finally {
    await ty.close();
  }
}
