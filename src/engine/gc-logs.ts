/**
 * gc's part for logs: the log files (this home's `logs`) and the artifact store's log copies of the
 * runs gc removes; and those of runs no longer recorded at all, once their newest file is older
 * than the grace period. Those are left behind by a gc killed between removing runs and their logs,
 * which no later gc would otherwise find: nothing names their runs any more.
 */
import type { LogCopies } from "../store/artifact-store.js";
import { homeLogs, runLogDirName } from "./step-log-files.js";
import type { Trainyard } from "./trainyard.js";

export interface LogCollection {
  /** Runs gc removes now. */
  removed: ReadonlySet<string>;
  /** Runs recorded and kept. */
  recorded: readonly string[];
  graceMs: number;
  dryRun?: boolean;
}

/** Removes what `c` says; returns how many directories of runs no longer recorded went (or would). */
export async function collectRunLogs(ty: Trainyard, c: LogCollection): Promise<number> {
  const places: LogCopies[] = [homeLogs(ty.home)];
  if (ty.artifacts.logCopies) places.push(ty.artifacts.logCopies);
  const removed = [...c.removed].map(runLogDirName);
  const known = new Set([...removed, ...c.recorded.map(runLogDirName)]);
  let orphans = 0;
  for (const place of places) {
    if (!c.dryRun && removed.length) await place.removeDirs(removed);
    const now = Date.now();
    const unrecorded = [...(await place.dirs())]
      .filter(([dir, newest]) => !known.has(dir) && now - newest >= c.graceMs)
      .map(([dir]) => dir);
    if (!c.dryRun && unrecorded.length) await place.removeDirs(unrecorded);
    orphans += unrecorded.length;
  }
  return orphans;
}
