/** `trainyard gc`. */
import { DEFAULT_GRACE_MS } from "../../engine/gc.js";
import { queuesToTrim, trimFinishedJobs } from "../../distributed/finished-job-trim.js";
import { queueOptions } from "../../distributed/queue-options.js";
import { durationFlag, has, intFlag, type ParsedArgs } from "../args.js";
import { bytes } from "../format.js";
import { openHome } from "../open-home.js";

export async function gcCommand(args: ParsedArgs): Promise<number> {
  const olderThanMs = durationFlag(args, "older-than", "dh");
  const graceMs = durationFlag(args, "grace", "smhd");
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
      const orphans = r.orphanLogDirsRemoved ? `, the logs of ${r.orphanLogDirsRemoved} runs no longer recorded` : "";
      const rest = `${r.fencesRemoved} task fences${jobs}, ${r.tempRemoved} temp files${orphans}`;
      process.stdout.write(`${verb} ${r.runsRemoved.length} runs and ${artifacts}, ${rest}\n`);
      if (kept.length) process.stdout.write(`kept ${kept.join(", ")}\n`);
    }
    if (trimFailed !== undefined) throw trimFailed;
    return 0;
  } finally {
    await ty.close();
  }
}
