/**
 * Engine overhead per step: 10,000 inline no-op steps through the executor, every step recorded
 * in the SQLite metadata store (step run, attempts, output artifact, lineage), in two shapes:
 * a wide fan-out (one root, 9,999 children) and a chain of 10,000. Each run starts from a fresh
 * home; the time covers `run()` from call to the last record committed.
 *
 *   npx tsx bench/engine-throughput.ts [--steps 10000] [--reps 3]
 */
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { Trainyard } from "../src/engine/trainyard.js";
import { pipeline } from "../src/index.js";
import { flag, formatTable, median } from "./support/timing.js";

const STEPS = Number(flag("steps", "10000"));
const REPS = Number(flag("reps", "3"));
const HOME = resolve("bench/.work/throughput-home");

function fanOut() {
  const p = pipeline("fan-out");
  const root = p.step("root", { run: () => 0 });
  // `version` keeps the keys distinct: otherwise identical no-ops would share one cache key.
  for (let i = 1; i < STEPS; i++)
    p.step(`child${i}`, { inputs: { root }, version: String(i), run: (_ctx, { root }) => root + 1 });
  return p;
}

function chain() {
  const p = pipeline("chain");
  let prev = p.step("s0", { run: () => 0 });
  for (let i = 1; i < STEPS; i++) prev = p.step(`s${i}`, { inputs: { prev }, run: (_ctx, { prev }) => prev + 1 });
  return p;
}

async function measure(build: () => ReturnType<typeof pipeline>): Promise<number> {
  rmSync(HOME, { recursive: true, force: true });
  const ty = await Trainyard.open({ home: HOME });
  try {
    const p = build();
    const t0 = performance.now();
    const result = await ty.run(p, { concurrency: 2 });
    const secs = (performance.now() - t0) / 1000;
    const recorded = (await ty.metadata.listStepRuns(result.runId)).filter((s) => s.status === "succeeded").length;
    if (result.status !== "succeeded" || recorded !== STEPS)
      throw new Error(`run ${result.status}, ${recorded} of ${STEPS} step runs recorded`);
    return secs;
  } finally {
    await ty.close();
  }
}

const shapes = { "fan-out (1 -> 9,999)": fanOut, "chain of 10,000": chain };
const times = new Map<string, number[]>(Object.keys(shapes).map((k) => [k, []]));
for (let rep = 0; rep < REPS; rep++)
  for (const [name, build] of Object.entries(shapes)) times.get(name)!.push(await measure(build));
rmSync(HOME, { recursive: true, force: true });

console.log(
  `engine-throughput: ${STEPS} inline no-op steps, concurrency 2, each recorded in SQLite; median of ${REPS}`,
);
console.log(
  formatTable([
    ["shape", "run time", "steps/s"],
    ...[...times].map(([name, t]) => [name, `${median(t).toFixed(3)} s`, `${Math.round(STEPS / median(t))}`]),
  ]),
);
const worst = Math.min(...[...times.values()].map((t) => STEPS / median(t)));
console.log(`target: >= 5,000 steps/s (${worst >= 5000 ? "met" : "NOT met"})`);
