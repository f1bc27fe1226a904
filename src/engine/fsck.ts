/**
 * `trainyard fsck`: rehashes every stored object (files spread over both cores), checks every
 * reference (artifact records -> objects, step-run outputs and lineage -> artifact records,
 * registered model versions -> artifacts) and lists orphans. With `repair`, damaged objects go
 * to quarantine and the records that point at them stop being reusable, so the next run or
 * resume recomputes them.
 */
import { stat } from "node:fs/promises";
import { isDigest, SHA256 } from "../core/digest-format.js";
import { hashFileSha256 } from "../store/file-hash.js";
import { rehashObject, writerOf } from "../store/object-verifier.js";
import { hashFilesInParallel, type FileHashResult } from "../store/parallel-hash.js";
import { registeredVersions } from "./registry-references.js";
import type { Trainyard } from "./trainyard.js";
import { shortDigest } from "../core/hash.js";

export interface FsckOptions {
  /** Quarantine damaged objects and make the records pointing at them non-reusable. @default false */
  repair?: boolean;
  /** Hashing threads for small and medium files. @default min(2, CPUs) */
  threads?: number;
}

export interface FsckProblem {
  digest: string;
  /** What is wrong, in words. */
  detail: string;
  path?: string;
  /** The record that points at it: "step run <id>", "model flights@3", "artifact record". */
  referencedBy?: string;
}

export interface FsckResult {
  objects: number;
  bytes: number;
  seconds: number;
  records: number;
  stepRuns: number;
  modelVersions: number;
  /** Objects whose content does not hash to their name. */
  corrupt: FsckProblem[];
  /** Records naming an object (or a record) that is not there. */
  missing: FsckProblem[];
  /** Objects no artifact record names (`trainyard gc` removes them). */
  orphans: string[];
  repaired?: { quarantined: number; recordsInvalidated: number };
  /** No corrupt object and no missing reference. */
  ok: boolean;
}

/** Below this many bytes of small and medium files, hashing them here beats starting threads. */
const POOL_MIN_BYTES = 128 * 1024 * 1024;

export async function checkStore(ty: Trainyard, opts: FsckOptions = {}): Promise<FsckResult> {
  const t0 = performance.now();
  const corrupt: FsckProblem[] = [];
  const missing: FsckProblem[] = [];
  const stored = await ty.artifacts.list();
  const pathOf = async (d: string) => ty.artifacts.localPath?.(d) ?? (await ty.artifacts.pathOf(d));
  let bytes = 0;

  // Plain sha256 files on the thread pool; block digests and trees as their schemes define.
  const pooled = new Map<string, string>();
  let pooledBytes = 0;
  const others: Array<{ digest: string; path: string; isDirectory: boolean; size: number }> = [];
  for (const digest of stored) {
    const path = await pathOf(digest);
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    if (!isDigest(digest)) {
      corrupt.push({ digest, path, detail: "is not named by a digest" });
      continue;
    }
    if (!st.isDirectory() && digest.startsWith(`${SHA256}:`)) {
      pooled.set(path, digest);
      pooledBytes += st.size;
    } else others.push({ digest, path, isDirectory: st.isDirectory(), size: st.size });
  }
  const bad = (digest: string, path: string, actual: string) =>
    corrupt.push({ digest, path, detail: `hashes to ${shortDigest(actual)}, not to its name` });
  const onResults = (results: FileHashResult[]) => {
    for (const r of results) {
      const digest = pooled.get(r.path)!;
      if (r.error) corrupt.push({ digest, path: r.path, detail: `cannot be read: ${r.error}` });
      else if (r.digest !== digest) bad(digest, r.path, r.digest!);
      bytes += r.size ?? 0;
    }
  };
  // Starting a thread costs as much as hashing tens of megabytes: small stores hash here.
  const pool =
    pooledBytes >= POOL_MIN_BYTES
      ? hashFilesInParallel([...pooled.keys()], onResults, opts.threads)
      : hashHere([...pooled.keys()], onResults);
  const rest = (async () => {
    for (const o of others) {
      const actual = await rehashObject(o.path, o.digest, o);
      if (actual !== o.digest) bad(o.digest, o.path, actual);
      bytes += o.size;
    }
  })();
  await Promise.all([pool, rest]);
  const seconds = (performance.now() - t0) / 1000;

  // References.
  const present = new Set(stored);
  const records = await ty.metadata.listArtifacts();
  const recorded = new Map(records.map((r) => [r.digest, r]));
  for (const r of records) {
    if (!r.inline && !present.has(r.digest))
      missing.push({ digest: r.digest, detail: "is recorded but not in the store", referencedBy: "artifact record" });
  }
  const needRecord = (digest: string, by: string) => {
    const r = recorded.get(digest);
    if (!r) missing.push({ digest, detail: "has no artifact record", referencedBy: by });
    else if (!r.inline && !present.has(digest))
      missing.push({ digest, detail: "is not in the store", referencedBy: by });
  };
  let stepRuns = 0;
  for (const run of await ty.metadata.listRuns({ limit: 1_000_000 })) {
    for (const sr of await ty.metadata.listStepRuns(run.id)) {
      if (sr.status !== "succeeded" && sr.status !== "rejected") continue;
      stepRuns++;
      if (sr.outputDigest) needRecord(sr.outputDigest, `step run ${sr.id}`);
      for (const e of await ty.metadata.lineageOfStepRun(sr.id))
        if (e.direction === "out" && e.digest !== sr.outputDigest)
          needRecord(e.digest, `step run ${sr.id} (${e.name})`);
    }
  }
  const versions = await registeredVersions(ty.metadata);
  for (const v of versions) needRecord(v.digests[0], `model ${v.model}@${v.version}`);

  const orphans = stored.filter((d) => !recorded.has(d));
  const result: FsckResult = {
    objects: stored.length,
    bytes,
    seconds,
    records: records.length,
    stepRuns,
    modelVersions: versions.length,
    corrupt: dedupe(corrupt),
    missing: dedupe(missing),
    orphans,
    ok: !corrupt.length && !missing.length,
  };
  for (const p of result.corrupt) await describeWriter(ty, p);
  if (opts.repair) result.repaired = await repair(ty, result);
  return result;
}

async function hashHere(paths: string[], onResults: (r: FileHashResult[]) => void): Promise<void> {
  for (const path of paths) {
    const r = await hashFileSha256(path).then(
      (h) => ({ path, ...h }),
      (err: Error) => ({ path, error: err.message }),
    );
    onResults([r]);
  }
}

async function describeWriter(ty: Trainyard, p: FsckProblem): Promise<void> {
  const w = await writerOf(ty.metadata, p.digest);
  if (w) p.detail += `; written by step "${w.stepId}" in run ${w.runId}`;
}

/**
 * Quarantines corrupt objects and drops the artifact records of damaged objects and of the
 * outputs that contain them: a cache lookup needs the output's record, so those step runs are
 * no longer reused and the next run or resume recomputes them.
 */
async function repair(ty: Trainyard, result: FsckResult): Promise<{ quarantined: number; recordsInvalidated: number }> {
  let quarantined = 0;
  for (const p of result.corrupt) if (await ty.artifacts.quarantine?.(p.digest)) quarantined++;
  const damaged = new Set(
    [...result.corrupt, ...result.missing.filter((m) => m.detail.includes("not in the store"))].map((p) => p.digest),
  );
  const drop = new Set<string>();
  for (const digest of damaged) {
    drop.add(digest);
    for (const e of await ty.metadata.lineageOf(digest)) {
      if (e.direction !== "out") continue;
      const sr = await ty.metadata.getStepRun(e.stepRunId);
      if (sr?.outputDigest) drop.add(sr.outputDigest);
    }
  }
  await ty.metadata.deleteArtifacts([...drop]);
  return { quarantined, recordsInvalidated: drop.size };
}

function dedupe(problems: FsckProblem[]): FsckProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.digest}\0${p.referencedBy ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
