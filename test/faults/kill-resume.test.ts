import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { campaignRoot, killTrial, random, referenceRun } from "./kill-campaign.js";

// The short version of bench/kill-campaign.ts (100 trials).
const TRIALS = Number(process.env.KILL_TRIALS ?? 4);
const root = campaignRoot();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("kill -9 during runs and resumes", () => {
  it(`resumes to the uninterrupted run's outputs, ${TRIALS} random kills, nothing run twice or lost`, async () => {
    const reference = await referenceRun(root);
    const seed = Number(process.env.KILL_SEED ?? Date.now() % 100_000);
    const rand = random(seed);
    const failures: string[] = [];
    let interrupted = 0;
    for (let t = 0; t < TRIALS; t++) {
      const r = await killTrial(t, root, reference, rand);
      if (!r.finishedBeforeKill) interrupted++;
      for (const p of r.problems) failures.push(`trial ${t} (seed ${seed}): ${p}`);
    }
    expect(failures).toEqual([]);
    expect(interrupted).toBeGreaterThan(0);
  }, 300_000);
});
