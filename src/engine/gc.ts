/**
 * `trainyard gc`: removes runs beyond the retention rules (with their log files and log copies),
 * then every artifact that no remaining run, pinned record (a registered model) or live run still
 * needs, the task fences no run can use any more (gc-fences.ts), and stale temp files.
 *
 * Never removed: runs a registered model version's lineage reads; objects named in the pending
 * journal of a live process (stored or reused by a run whose records have not committed yet);
 * what runs in flight on any machine sharing the metadata need (gc-in-flight.ts); objects
 * younger than the grace period. The order of reads is what makes the journal enough:
 * objects and artifact records are listed first, journals read next, references last; an object
 * or record stored after the listing is not seen, and one whose journal entry is gone by then has
 * committed its records.
 */
import { TrainyardError } from "../core/errors.js";
import { collectTaskFences } from "./gc-fences.js";
import { inFlightReferences } from "./gc-in-flight.js";
import { registeredVersions, runsInLineage } from "./registry-references.js";
import { collectRunLogs } from "./gc-logs.js";
import type { Trainyard } from "./trainyard.js";

/** Objects younger than this are kept whatever refers to them. */
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;

export interface GcOptions {
  /** Keep only the newest N finished runs of each pipeline. @default keep all */
  keepLast?: number;
  /** Remove finished runs older than this many ms. @default keep all */
  olderThanMs?: number;
  /** Report what would be removed without removing it. @default false */
  dryRun?: boolean;
  /** Never remove an object that entered the store less than this many ms ago. @default 1 hour */
  graceMs?: number;
}

export interface GcResult {
  runsRemoved: string[];
  artifactsRemoved: number;
  bytesFreed: number;
  tempRemoved: number;
  /** Task fences removed: those of runs no resume can reattach to any more (see gc-fences.ts). */
  fencesRemoved: number;
  /** Log directories (this home's, and log copies) of runs no longer recorded, older than the grace period. */
  orphanLogDirsRemoved: number;
  /** Runs kept beyond the retention rules because a registered model's lineage reads them. */
  runsKeptForModels: string[];
  /** Objects kept because a live process listed them in its pending journal. */
  keptPending: number;
  /** Objects kept because they are younger than the grace period. */
  keptYoung: number;
  /** Objects kept because they entered the store while a run was in flight (on any machine). */
  keptInFlight: number;
}

export async function collectGarbage(ty: Trainyard, opts: GcOptions): Promise<GcResult> {
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const stored = await ty.artifacts.list();
  // Through the engine: a run whose owner died is marked interrupted first.
  const runs = await ty.listRuns({ limit: 1_000_000 });
  const records = await ty.metadata.listArtifacts();
  refuseEmptyMetadata(ty, runs.length, records.length, stored.length);

  const versions = await registeredVersions(ty.metadata);
  const forModels = await runsInLineage(
    ty.metadata,
    versions.flatMap((v) => v.digests),
  );
  for (const v of versions) if (v.runId) forModels.add(v.runId);
  const now = Date.now();
  const remove = new Set<string>();
  const keptForModels = new Set<string>();
  const seen = new Map<string, number>();
  for (const r of runs) {
    // Queued and running runs (in flight) and interrupted ones (resumable) are never retention's to remove.
    if (r.status === "queued" || r.status === "running" || r.status === "interrupted") continue;
    const n = (seen.get(r.pipeline) ?? 0) + 1;
    seen.set(r.pipeline, n);
    const expired =
      (opts.keepLast !== undefined && n > opts.keepLast) ||
      (opts.olderThanMs !== undefined && now - r.createdAt > opts.olderThanMs);
    if (expired && forModels.has(r.id)) keptForModels.add(r.id);
    else if (expired) remove.add(r.id);
  }
  if (!opts.dryRun && remove.size) {
    await ty.metadata.deleteRuns([...remove]);
  }

  // Journals after the runs were removed and before references are read (see the header).
  const pending = ty.artifacts.pendingDigests?.({ removeDead: !opts.dryRun }).digests ?? new Set<string>();
  const current = await ty.metadata.listRuns({ limit: 1_000_000 });
  const keep = current.filter((r) => !remove.has(r.id));
  // Log files and copies of removed runs (a worker's own files go by its --keep-logs).
  const logDirs = { removed: remove, recorded: keep.map((r) => r.id), graceMs, dryRun: opts.dryRun };
  const orphanLogDirsRemoved = await collectRunLogs(ty, logDirs);
  const live = await ty.metadata.digestsUsedByRuns(keep.map((r) => r.id));
  for (const d of await ty.metadata.pinnedDigests()) live.add(d);
  const inFlight = await inFlightReferences(ty.metadata, keep);
  for (const d of inFlight.digests) live.add(d);
  // Records as listed before the journals and references, like the objects: a record committed
  // later (an inline output value, say) was not seen, so it cannot be taken for garbage.
  const dead = records.filter((a) => !live.has(a.digest) && !pending.has(a.digest));
  if (!opts.dryRun) await ty.metadata.deleteArtifacts(dead.map((a) => a.digest));

  let bytes = 0;
  let removed = dead.filter((a) => a.inline).length;
  let keptPending = 0;
  let keptYoung = 0;
  let keptInFlight = 0;
  for (const digest of stored) {
    if (live.has(digest)) continue;
    if (pending.has(digest)) {
      keptPending++;
      continue;
    }
    // Stat right before removing: an object stored again meanwhile is young again.
    const st = await ty.artifacts.stat(digest);
    if (!st) continue;
    const entered = Math.max(st.mtimeMs, st.ctimeMs);
    if (Date.now() - entered < graceMs) {
      keptYoung++;
      continue;
    }
    if (inFlight.enteredSince !== undefined && entered >= inFlight.enteredSince) {
      keptInFlight++;
      continue;
    }
    if (!opts.dryRun) await ty.artifacts.delete(digest);
    bytes += st?.size ?? 0;
    removed++;
  }

  // Last, after the in-flight references were read from the fences as they stood.
  const fencesRemoved = await collectTaskFences(ty.metadata, {
    kept: keep,
    removedRunIds: remove,
    olderThanMs: opts.olderThanMs,
    now,
    dryRun: opts.dryRun,
  });

  let tempRemoved = 0;
  const store = ty.artifacts;
  if (!opts.dryRun && store.sweepTemp && !current.some((r) => r.status === "running"))
    tempRemoved = await store.sweepTemp(0);
  return {
    runsRemoved: [...remove],
    artifactsRemoved: removed,
    bytesFreed: bytes,
    tempRemoved,
    fencesRemoved,
    orphanLogDirsRemoved,
    runsKeptForModels: [...keptForModels],
    keptPending,
    keptYoung,
    keptInFlight,
  };
}

/**
 * A metadata database with no runs and no artifacts next to a store full of objects has been
 * replaced or truncated (a zero-byte metadata.db opens as a fresh home): everything would look
 * like garbage.
 */
function refuseEmptyMetadata(ty: Trainyard, runs: number, records: number, objects: number): void {
  if (runs || records || !objects) return;
  const file = (ty.metadata as { file?: string }).file;
  const db = file ?? `the ${ty.metadata.backend} metadata database`;
  throw new TrainyardError(
    "GC_REFUSED",
    `gc refuses to run: ${db} has no runs and no artifacts, but the artifact store holds ${objects} objects`,
    {
      file,
      hint:
        "the metadata database was probably replaced, truncated or pointed elsewhere: " +
        "restore it (or set --home / TRAINYARD_METADATA_URL to the right one); " +
        "`trainyard fsck` lists the objects; to discard them all, " +
        "delete the home's artifacts/objects directory yourself",
    },
  );
}
