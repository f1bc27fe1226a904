/** Property tests: the transforms' algebra and determinism hold for arbitrary inputs. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyFeatures,
  fnv1a32,
  type FittedFeatures,
  type FittedTransform,
  type InputType,
} from "../../src/lib/features/index.js";
import { datePart } from "../../src/lib/features/date-parts.js";

const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });

function fittedWith(transform: FittedTransform, type: InputType, outputs: string[]): FittedFeatures {
  return {
    version: 1,
    inputs: [{ name: "x", type, nullable: true }],
    transforms: [transform],
    outputs: outputs.map((name) => ({ name, type: "numeric" })),
    trainingRows: 1,
  };
}

describe("numeric transforms", () => {
  it("standardize inverts to the input and is deterministic", () => {
    fc.assert(
      fc.property(
        fc.array(finite, { minLength: 1, maxLength: 50 }),
        finite,
        fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
        (xs, mean, std) => {
          const f = fittedWith({ kind: "standardize", column: "x", output: "z", mean, std }, "number", ["z"]);
          const raw = { rows: xs.length, columns: { x: Float64Array.from(xs) } };
          const a = applyFeatures(f, raw).columns[0];
          expect(applyFeatures(f, raw).columns[0]).toEqual(a);
          a.forEach((z, i) => expect(z * std + mean).toBeCloseTo(xs[i], 3));
        },
      ),
    );
  });

  it("minmax of the fitted range stays in [0, 1] and preserves order", () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 2, maxLength: 50 }), (xs) => {
        const min = Math.min(...xs);
        const max = Math.max(...xs);
        const f = fittedWith({ kind: "minmax", column: "x", output: "m", min, max, clip: false }, "number", ["m"]);
        const out = applyFeatures(f, { rows: xs.length, columns: { x: Float64Array.from(xs) } }).columns[0];
        out.forEach((v, i) => {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
          for (let k = 0; k < xs.length; k++) if (xs[i] < xs[k]) expect(v).toBeLessThanOrEqual(out[k]);
        });
      }),
    );
  });
});

describe("categorical transforms", () => {
  const category = fc.oneof(fc.constantFrom("a", "b", "c", "d"), fc.string({ maxLength: 6 }), fc.constant(null));

  it("onehot: exactly one 1 per present value, none for missing; strings and codes agree", () => {
    fc.assert(
      fc.property(
        fc.array(category, { maxLength: 40 }),
        fc.uniqueArray(fc.string({ maxLength: 3 }), { maxLength: 5 }),
        (values, categories) => {
          const outputs = [...categories.map((c) => `x=${c}`), "x=__other__"];
          const f = fittedWith(
            { kind: "onehot", column: "x", categories, outputs, other: "x=__other__" },
            "string",
            outputs,
          );
          const plain = applyFeatures(f, { rows: values.length, columns: { x: values } });
          for (let i = 0; i < values.length; i++) {
            const sum = plain.columns.reduce((s, c) => s + c[i], 0);
            expect(sum).toBe(values[i] === null ? 0 : 1);
          }
          const dictionary = [...new Set(values.filter((v): v is string => v !== null))].sort();
          const codes = Int32Array.from(values.map((v) => (v === null ? -1 : dictionary.indexOf(v))));
          const coded = applyFeatures(f, { rows: values.length, columns: { x: { codes, dictionary } } });
          expect(coded.columns).toEqual(plain.columns);
        },
      ),
    );
  });

  it("hash buckets: deterministic, in range, equal to FNV-1a over TextEncoder bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 30 }), fc.integer({ min: 1, max: 1 << 20 }), (s, buckets) => {
        let h = 0x811c9dc5;
        for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
        expect(fnv1a32(s)).toBe(h);
        const f = fittedWith({ kind: "hash", column: "x", output: "h", buckets, hash: "fnv1a-32" }, "string", ["h"]);
        const v = applyFeatures(f, { rows: 2, columns: { x: [s, s] } }).columns[0];
        expect(v[0]).toBe(v[1]);
        expect(v[0]).toBe(h % buckets);
      }),
    );
  });

  it("FNV-1a reference values", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });
});

describe("date parts", () => {
  it("match Date's UTC getters, day_of_week 0 = Monday", () => {
    fc.assert(
      fc.property(fc.integer({ min: -2e12, max: 4e12 }), (ms) => {
        const d = new Date(ms);
        expect(datePart(ms, "year")).toBe(d.getUTCFullYear());
        expect(datePart(ms, "month")).toBe(d.getUTCMonth() + 1);
        expect(datePart(ms, "day")).toBe(d.getUTCDate());
        expect(datePart(ms, "hour")).toBe(d.getUTCHours());
        expect(datePart(ms, "minute")).toBe(d.getUTCMinutes());
        expect(datePart(ms, "day_of_week")).toBe((d.getUTCDay() + 6) % 7);
        expect(datePart(ms, "day_of_year")).toBe(
          Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
        );
      }),
    );
  });
});
