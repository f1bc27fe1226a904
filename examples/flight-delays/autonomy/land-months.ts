/**
 * The landing simulator on its own: drops one month of flights-3m into the landing folder every
 * N seconds, the way a nightly export would, for `trainyard up examples/flight-delays/pipeline.ts`
 * running in another terminal. Months from --shift-from on follow the shifted delay rule.
 *
 *   npx tsx examples/flight-delays/autonomy/land-months.ts [--every 60] [--from 1] [--to 6]
 *     [--first 2] [--shift-from 7] [--sample ROWS] [--landing examples/flight-delays/demo/landing]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { landMonths } from "./flight-months.js";
import { EXAMPLE_DIR } from "./start-up.js";

const { values: o } = parseArgs({
  options: {
    every: { type: "string", default: "60" },
    from: { type: "string", default: "1" },
    to: { type: "string", default: "6" },
    first: { type: "string", default: "2" },
    "shift-from": { type: "string", default: "7" },
    sample: { type: "string" },
    landing: { type: "string", default: join(EXAMPLE_DIR, "demo", "landing") },
  },
});
const [from, to, first, shiftFrom] = [o.from, o.to, o.first, o["shift-from"]].map(Number);
const sample = o.sample ? Number(o.sample) : undefined;
// The first landing brings `first` months at once: the pipeline needs two to train and evaluate.
const batches: number[][] = [Array.from({ length: first }, (_, k) => from + k)];
for (let m = from + first; m <= to; m++) batches.push([m]);
for (const [k, months] of batches.entries()) {
  if (k > 0) await new Promise((r) => setTimeout(r, Number(o.every) * 1000));
  const landed = await landMonths(o.landing!, months, { sample, shifted: (m) => m >= shiftFrom });
  for (const l of landed) {
    const shifted = l.month >= shiftFrom ? " (shifted delays)" : "";
    console.log(`${new Date().toISOString()} landed ${l.file}: ${l.rows.toLocaleString("en-US")} flights${shifted}`);
  }
}
