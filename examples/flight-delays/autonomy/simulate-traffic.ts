/**
 * The traffic and label simulator on its own: sends a month's flights to the model server in
 * waves and, a few seconds after each wave, appends their true outcomes to the labels file the
 * monitor reads (keyed by prediction id). Prints the AUC of each wave's predictions.
 *
 *   npx tsx examples/flight-delays/autonomy/simulate-traffic.ts --url http://127.0.0.1:8080 --month 4
 *     [--shifted] [--waves 3] [--rows 400] [--gap 20] [--labels-after 5]
 *     [--labels examples/flight-delays/demo/labels.csv]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { monthTraffic } from "./flight-months.js";
import { EXAMPLE_DIR } from "./start-up.js";
import { LabelsFile, rocAuc, serveFlights } from "./traffic.js";

const { values: o } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8080" },
    month: { type: "string", default: "3" },
    shifted: { type: "boolean", default: false },
    waves: { type: "string", default: "3" },
    rows: { type: "string", default: "400" },
    gap: { type: "string", default: "20" },
    "labels-after": { type: "string", default: "5" },
    labels: { type: "string", default: join(EXAMPLE_DIR, "demo", "labels.csv") },
  },
});
const rows = Number(o.rows);
const pool = await monthTraffic(Number(o.month), rows * Number(o.waves), { shifted: o.shifted });
// Appends to what is there: labels of earlier runs of this script stay.
const labels = LabelsFile.appendingTo(o.labels!);
for (let k = 0; k < Number(o.waves); k++) {
  if (k > 0) await new Promise((r) => setTimeout(r, Number(o.gap) * 1000));
  const served = await serveFlights(o.url!, pool.slice(k * rows, (k + 1) * rows));
  console.log(`${new Date().toISOString()} ${served.length} flights predicted by version ${served[0]?.version}`);
  await new Promise((r) => setTimeout(r, Number(o["labels-after"]) * 1000));
  labels.add(served);
  const auc = rocAuc(served)?.toFixed(3) ?? "n/a";
  console.log(`${new Date().toISOString()} labels written; AUC of those predictions ${auc}`);
}
