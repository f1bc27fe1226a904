/**
 * Checks the records a home holds after faults, independently of the engine's own code paths:
 * every succeeded step run has its objects and they hash to their names, no step's command ran
 * in two processes at once (the fault pipeline journals overlaps), and no step whose success was
 * committed ran again afterwards.
 */
import fs from "node:fs";
import path from "node:path";
import { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { hashFile, hashTree } from "../../src/store/file-hash.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";

export interface HomeView {
  meta: SqliteMetadataStore;
  store: FsArtifactStore;
  close(): Promise<void>;
}

export function openHome(home: string): HomeView {
  const meta = new SqliteMetadataStore(path.join(home, "metadata.db"));
  const store = new FsArtifactStore(path.join(home, "artifacts"));
  return { meta, store, close: async () => (await store.close?.(), await meta.close()) };
}

/** Problems found in a home's records and store; empty when it is consistent. */
export async function checkHistory(home: string): Promise<string[]> {
  const view = openHome(home);
  const problems: string[] = [];
  const verified = new Map<string, boolean>();
  const verify = async (digest: string): Promise<boolean> => {
    let ok = verified.get(digest);
    if (ok !== undefined) return ok;
    const rec = await view.meta.getArtifact(digest);
    if (!rec) ok = false;
    else if (rec.inline) ok = (await view.meta.getInlineBytes(digest)) !== undefined;
    else if (!(await view.store.has(digest))) ok = false;
    else {
      const p = await view.store.localPath(digest);
      const actual = fs.statSync(p).isDirectory() ? (await hashTree(p)).digest : (await hashFile(p)).digest;
      ok = actual === digest;
    }
    verified.set(digest, ok);
    return ok;
  };
  try {
    for (const run of await view.meta.listRuns({ limit: 1_000_000 })) {
      for (const sr of await view.meta.listStepRuns(run.id)) {
        if (sr.status !== "succeeded") continue;
        if (!sr.outputDigest) problems.push(`${sr.id}: succeeded without an output digest`);
        else if (!(await verify(sr.outputDigest)))
          problems.push(`${sr.id}: output ${sr.outputDigest} is missing or corrupt`);
        for (const e of await view.meta.lineageOfStepRun(sr.id)) {
          if (e.direction === "out" && !(await verify(e.digest)))
            problems.push(`${sr.id}: produced ${e.name} ${e.digest} is missing or corrupt`);
        }
      }
    }
  } finally {
    await view.close();
  }
  return problems;
}

/** Overlap lines the fault pipeline's steps wrote: a step running in two processes at once. */
export function journalOverlaps(dir: string): string[] {
  return journal(dir).filter((l) => l.startsWith("OVERLAP"));
}

export function journal(dir: string): string[] {
  const file = path.join(dir, "journal");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** Steps of a run whose success (not a cache reuse) is committed in the metadata store. */
export async function committedSteps(home: string, runId: string): Promise<Set<string>> {
  const view = openHome(home);
  try {
    const done = (await view.meta.listStepRuns(runId)).filter((s) => s.status === "succeeded" && s.itemIndex < 0);
    return new Set(done.map((s) => s.stepId));
  } finally {
    await view.close();
  }
}

/** Step id -> output digest of a run's steps. */
export async function outputsOf(home: string, runId: string): Promise<Record<string, string | undefined>> {
  const view = openHome(home);
  try {
    const out: Record<string, string | undefined> = {};
    for (const s of await view.meta.listStepRuns(runId)) if (s.itemIndex < 0) out[s.stepId] = s.outputDigest;
    return out;
  } finally {
    await view.close();
  }
}

/** Steps that began again (per the journal, from line `from` on) although their success was committed. */
export function rerunAfterCommit(dir: string, from: number, committed: Set<string>): string[] {
  return journal(dir)
    .slice(from)
    .filter((l) => l.startsWith("begin "))
    .map((l) => l.split(" ")[1])
    .filter((step) => committed.has(step));
}
