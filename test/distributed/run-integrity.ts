/**
 * What every cluster scenario checks at the end of a run: each step run (and map item) that ran
 * committed its output once, and every object the run produced is in the store and matches its
 * digest (a lost or damaged object throws on the way in).
 */
import { expect } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";

/** Checks the run's commits and objects; returns the ids of the step runs it computed (not reused). */
export async function expectRunIntact(ty: Trainyard, runId: string): Promise<string[]> {
  const computedIds: string[] = [];
  for (const s of await ty.metadata.listStepRuns(runId)) {
    if (s.status !== "succeeded") continue;
    const outs = (await ty.metadata.lineageOfStepRun(s.id)).filter((e) => e.direction === "out");
    // A reuse (a cache hit, or a resume taking an earlier result) records a reuse edge, not a commit.
    // The edge of the stored output value counts (an artifact returned as the whole output has one too).
    const computed = outs.filter((e) => e.name === "output" && e.digest === s.outputDigest && !e.reused);
    expect(computed.length, `${s.id} committed at most once`).toBeLessThanOrEqual(1);
    expect(s.cached || computed.length === 1, `${s.id} computed and committed once, or reused`).toBe(true);
    if (computed.length) computedIds.push(s.id);
    for (const e of outs) {
      if (e.digest === s.outputDigest) await ty.loadValue(e.digest);
      else await ty.verifiedPath(e.digest, { use: `output ${e.name} of ${s.id}` });
    }
  }
  return computedIds;
}
