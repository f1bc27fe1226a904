/**
 * A small real predictor for server tests: a linear scorer over numeric fields, loaded from a
 * bundle directory (`bundle.json`), with strict row validation that raises the library's own
 * FeatureInputError (status 400, field, row). Not a mock of the server: the server runs as is.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FeatureInputError } from "../../src/lib/features/feature-input-error.js";
import type { ServedPredictor } from "../../src/serve/predictor-port.js";

export interface LinearBundle {
  kind: "test-linear";
  label: string;
  weights: Record<string, number>;
  bias: number;
  /** Simulates a slow model load (big trees, ONNX session), so hot swaps are tested under it. */
  loadDelayMs?: number;
}

export function writeLinearBundle(bundle: Omit<LinearBundle, "kind">, parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, "bundle-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "bundle.json"), JSON.stringify({ kind: "test-linear", ...bundle }));
  return dir;
}

export const closedPredictors: string[] = [];

export async function loadLinearPredictor(dir: string): Promise<ServedPredictor> {
  const b = JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8")) as LinearBundle;
  if (b.kind !== "test-linear") throw new Error(`not a test-linear bundle: ${dir}`);
  if (b.loadDelayMs) await new Promise((r) => setTimeout(r, b.loadDelayMs));
  const names = Object.keys(b.weights);
  const hint = `send the fields ${names.join(", ")} as finite numbers`;
  return {
    task: "regression",
    label: b.label,
    inputFields: names.map((name) => ({ name, type: "number" })),
    async predictRows(rows: unknown[]): Promise<number[]> {
      return rows.map((row, i) => {
        if (typeof row !== "object" || row === null || Array.isArray(row))
          throw new FeatureInputError("NOT_AN_OBJECT", "a row must be an object", { row: i, hint });
        const r = row as Record<string, unknown>;
        for (const k of Object.keys(r))
          if (!(k in b.weights))
            throw new FeatureInputError("UNKNOWN_FIELD", `unknown field "${k}"`, { field: k, row: i, hint });
        let y = b.bias;
        for (const name of names) {
          const v = r[name];
          if (v === undefined)
            throw new FeatureInputError("MISSING_FIELD", `missing field "${name}"`, { field: name, row: i, hint });
          if (v === null)
            throw new FeatureInputError("NULL_VALUE", `field "${name}" is null`, { field: name, row: i, hint });
          if (typeof v !== "number")
            throw new FeatureInputError("WRONG_TYPE", `field "${name}" must be a number, got ${typeof v}`, {
              field: name,
              row: i,
              hint,
            });
          if (!Number.isFinite(v))
            throw new FeatureInputError("NON_FINITE", `field "${name}" is not finite`, { field: name, row: i, hint });
          y += b.weights[name] * v;
        }
        return y;
      });
    },
    close() {
      closedPredictors.push(dir);
    },
  };
}
