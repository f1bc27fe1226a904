/**
 * One error family: every error class in the product extends TrainyardError (whose code is typed
 * against the catalog), apart from the control-flow signals a step or the engine throws on purpose.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOG, TrainyardError } from "../../src/core/errors.js";
import { ModelError } from "../../src/lib/models/model-error.js";
import { MetricInputError } from "../../src/lib/evaluate/metric-input.js";
import { REPO } from "../engine/support.js";

/** Thrown to steer a run, not to report a failure: they carry no code of their own. */
const SIGNALS = new Set([
  "src/core/errors.ts:Fatal",
  "src/core/errors.ts:Rejected",
  "src/engine/attempt-runner.ts:Cancelled",
  "src/engine/attempt-runner.ts:RejectedWithOutput",
]);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === "ui" ? [] : sources(p);
    return /\.tsx?$/.test(f) ? [p] : [];
  });
}

describe("the error catalog", () => {
  it("no class in src/ extends Error directly, but TrainyardError and the run-steering signals", () => {
    const offenders: string[] = [];
    for (const file of sources(join(REPO, "src"))) {
      const rel = relative(REPO, file);
      for (const m of readFileSync(file, "utf8").matchAll(/class (\w+) extends Error\b/g)) {
        if (m[1] === "TrainyardError" && rel === "src/core/errors.ts") continue;
        if (!SIGNALS.has(`${rel}:${m[1]}`))
          offenders.push(`${rel}: class ${m[1]} extends Error (extend TrainyardError)`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("every code has a hint, and an error without its own hint gets the catalog's", () => {
    for (const [code, hint] of Object.entries(ERROR_CATALOG)) expect(hint.length, code).toBeGreaterThan(10);
    expect(new TrainyardError("ARTIFACT_CORRUPT", "object abc is damaged").hint).toBe(ERROR_CATALOG.ARTIFACT_CORRUPT);
    expect(new TrainyardError("ARTIFACT_CORRUPT", "x", { hint: "do this" }).hint).toBe("do this");
  });

  it("library errors are TrainyardErrors with catalog codes", () => {
    const model = new ModelError("NAN_LABEL", "label is NaN in row 3", { column: "y", hint: "drop the row" });
    const metric = new MetricInputError("labels have 2 rows but predictions have 3", "score the same rows");
    for (const err of [model, metric]) {
      expect(err).toBeInstanceOf(TrainyardError);
      expect(Object.hasOwn(ERROR_CATALOG, err.code)).toBe(true);
    }
    expect(model.fields.column).toBe("y");
  });
});
