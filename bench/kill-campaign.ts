/**
 * 100 random `kill -9` of `trainyard run`, and of the resume in a third of the trials, each
 * resumed to the end and checked (outputs equal to an uninterrupted run, no step committed twice,
 * no step running twice at once, every object hashing to its name, `trainyard fsck` clean).
 *   npx tsx bench/kill-campaign.ts [--trials 100] [--seed N]
 */
import fs from "node:fs";
import { campaignRoot, killTrial, random, referenceRun } from "../test/faults/kill-campaign.js";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const trials = arg("trials", 100);
const seed = arg("seed", Date.now() % 100_000);
const root = campaignRoot();
const reference = await referenceRun(root);
console.log(
  `fault pipeline: ${Object.keys(reference.outputs).length} steps, uninterrupted run ${reference.ms} ms; seed ${seed}`,
);
const rand = random(seed);
let clean = 0;
let kills = 0;
let interrupted = 0;
const failures: string[] = [];
for (let t = 0; t < trials; t++) {
  const r = await killTrial(t, root, reference, rand);
  kills += r.kills;
  if (!r.finishedBeforeKill) interrupted++;
  if (r.problems.length) failures.push(...r.problems.map((p) => `trial ${t}: ${p}`));
  else clean++;
}
console.log(
  `trials ${trials}, interrupted ${interrupted}, kills ${kills} (runs and resumes), clean resumes ${clean}/${trials}`,
);
console.log(`steps committed twice or run twice at once, missing/corrupt objects, fsck failures: ${failures.length}`);
for (const f of failures.slice(0, 20)) console.log(`  ${f}`);
if (!failures.length) fs.rmSync(root, { recursive: true, force: true });
process.exit(failures.length ? 1 : 0);
