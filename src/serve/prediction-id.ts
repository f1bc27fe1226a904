/**
 * Prediction ids: what a client sends back with a late label. One per predict request, from a
 * counter behind a per-server prefix (time and a few random bytes, drawn once), so the hot path
 * does no hashing and ids stay unique across restarts and servers. How a label names one row of a
 * request is the log's convention (`rowPredictionId` in store/registry-store.ts).
 */
import { randomBytes } from "node:crypto";

export class PredictionIds {
  private readonly prefix = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  private counter = 0;

  next(): string {
    return `${this.prefix}-${(++this.counter).toString(36)}`;
  }
}

/**
 * The row keys of a request's rows, from the declared column (null where a row lacks it), and
 * the rows as the model sees them: without that column unless the model takes it as an input.
 */
export function takeRowKeys(
  rows: unknown[],
  column: string,
  modelTakesIt: boolean,
): { rowKeys: Array<string | null>; modelRows: unknown[] } {
  const rowKeys = new Array<string | null>(rows.length);
  const modelRows = modelTakesIt ? rows : new Array<unknown>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Record<string, unknown>;
    const v = row[column];
    rowKeys[i] = v === undefined || v === null ? null : String(v);
    if (!modelTakesIt) {
      const { [column]: _key, ...rest } = row;
      modelRows[i] = rest;
    }
  }
  return { rowKeys, modelRows };
}
