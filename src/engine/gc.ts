/**
 * `trainyard gc`: removes runs beyond the retention rules, then every artifact that no remaining
 * run, pinned record (a registered model) or live run still needs, and stale temp files.
 */
import { removeRunLogs } from "./step-log-files.js";
import type { Trainyard } from "./trainyard.js";

export interface GcOptions {
  /** Keep only the newest N finished runs of each pipeline. @default keep all */
  keepLast?: number;
  /** Remove finished runs older than this many ms. @default keep all */
  olderThanMs?: number;
  /** Report what would be removed without removing it. @default false */
  dryRun?: boolean;
}

export interface GcResult {
  runsRemoved: string[];
  artifactsRemoved: number;
  bytesFreed: number;
  tempRemoved: number;
}

export async function collectGarbage(ty: Trainyard, opts: GcOptions): Promise<GcResult> {
  const runs = await ty.metadata.listRuns({ limit: 1_000_000 });
  const now = Date.now();
  const remove: string[] = [];
  const seen = new Map<string, number>();
  for (const r of runs) {
    if (r.status === "running") continue;
    const n = (seen.get(r.pipeline) ?? 0) + 1;
    seen.set(r.pipeline, n);
    if ((opts.keepLast !== undefined && n > opts.keepLast) || (opts.olderThanMs !== undefined && now - r.createdAt > opts.olderThanMs)) remove.push(r.id);
  }
  const keep = runs.filter((r) => !remove.includes(r.id)).map((r) => r.id);
  const live = await ty.metadata.digestsUsedByRuns(keep);
  for (const d of await ty.metadata.pinnedDigests()) live.add(d);
  const records = await ty.metadata.listArtifacts();
  const dead = records.filter((a) => !live.has(a.digest));
  const stored = new Set(await ty.artifacts.list());
  const orphanFiles = [...stored].filter((d) => !live.has(d) && !records.some((r) => r.digest === d));
  let bytes = 0;
  for (const a of dead) bytes += a.size;
  let tempRemoved = 0;
  if (!opts.dryRun) {
    if (remove.length) await ty.metadata.deleteRuns(remove);
    await removeRunLogs(ty.home, remove);
    await ty.metadata.deleteArtifacts(dead.map((a) => a.digest));
    for (const a of dead) if (!a.inline) await ty.artifacts.remove(a.digest);
    for (const d of orphanFiles) await ty.artifacts.remove(d);
    const fs = ty.artifacts as { sweepTemp?: (olderThanMs: number) => Promise<number> };
    const anyRunning = runs.some((r) => r.status === "running");
    if (fs.sweepTemp && !anyRunning) tempRemoved = await fs.sweepTemp(0);
  }
  return { runsRemoved: remove, artifactsRemoved: dead.length + orphanFiles.length, bytesFreed: bytes, tempRemoved };
}
