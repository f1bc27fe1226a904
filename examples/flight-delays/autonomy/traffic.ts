// Traffic and late labels for the autonomy demo: flights sent to the model server as prediction
// requests, and their true outcome (delayed or not) written later to a labels file keyed by
// prediction id, the way arrivals would report back. The monitor joins the two.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Flight } from "./flight-months.js";

/** One served row: its prediction key, score, true label and the version that served it. */
export interface ServedFlight {
  key: string;
  score: number;
  delayed: 0 | 1;
  version: number;
}

/**
 * Sends `flights` ({ row, delayed }) to the served alias in requests of `batch` rows. Returns one
 * entry per row: its prediction key (`<predictionId>.<i>`), score, label and the serving version.
 */
export async function serveFlights(
  url: string,
  flights: Flight[],
  { model = "flight-delays", alias = "production", batch = 50 } = {},
): Promise<ServedFlight[]> {
  const served: ServedFlight[] = [];
  for (let i = 0; i < flights.length; i += batch) {
    const chunk = flights.slice(i, i + batch);
    const res = await fetch(`${url}/v1/models/${model}/${alias}:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows: chunk.map((f) => f.row) }),
    });
    if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${await res.text()}`);
    type Answer = { predictionId: string; version: number; predictions: Array<number | { score: number }> };
    const body = (await res.json()) as Answer;
    chunk.forEach((f, k) => {
      const p = body.predictions[k];
      const key = chunk.length === 1 ? body.predictionId : `${body.predictionId}.${k}`;
      served.push({ key, score: typeof p === "number" ? p : p.score, delayed: f.delayed, version: body.version });
    });
  }
  return served;
}

/** Every label known so far, rewritten whole and renamed into place: a reader never sees half a file. */
export class LabelsFile {
  private readonly rows: string[] = [];

  constructor(readonly path: string) {}

  /** Keeps the labels already in the file (written by an earlier run of the simulator). */
  static appendingTo(path: string): LabelsFile {
    const file = new LabelsFile(path);
    if (existsSync(path)) file.rows.push(...readFileSync(path, "utf8").trim().split("\n").slice(1).filter(Boolean));
    return file;
  }

  add(served: ServedFlight[]): void {
    this.rows.push(...served.map((s) => `${s.key},${s.delayed}`));
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `prediction_id,delayed\n${this.rows.join("\n")}\n`);
    renameSync(tmp, this.path);
  }
}

/** ROC AUC of served scores against their labels (ties count half), or undefined with one class only. */
export function rocAuc(served: ServedFlight[]): number | undefined {
  const sorted = [...served].sort((a, b) => a.score - b.score);
  const positives = served.filter((s) => s.delayed === 1).length;
  const negatives = served.length - positives;
  if (!positives || !negatives) return undefined;
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j].score === sorted[i].score) j++;
    const midRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (sorted[k].delayed === 1) rankSum += midRank;
    i = j;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
