/**
 * Property tests: random small tables written to Parquet/CSV by DuckDB go through profiling and
 * contract checking, and must match a straightforward JS computation on the same rows.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { checkContract } from "../../src/lib/data/contract-check.js";
import type { ColumnContract } from "../../src/lib/data/contract.js";
import { profileDataset } from "../../src/lib/data/profile.js";
import { makeTempDir, writeTable, type Cell } from "./temp-data.js";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());
let fileNo = 0;

const numberCell = fc.option(
  fc.integer({ min: -50, max: 50 }).map((i) => i / 4),
  { nil: null, freq: 5 },
);
const textCell = fc.option(fc.constantFrom("a", "b", "c", "dd", "e,f", "Ω"), { nil: null, freq: 5 });
const table = fc.array(fc.tuple(numberCell, textCell), { minLength: 1, maxLength: 40 });

function quantile(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = sorted[Math.floor(h)];
  const hi = sorted[Math.ceil(h)];
  return lo === hi ? lo : lo + (hi - lo) * (h - Math.floor(h));
}

describe("profile properties", () => {
  it("matches a direct JS computation", async () => {
    await fc.assert(
      fc.asyncProperty(table, fc.boolean(), async (rows, parquet) => {
        const file = await writeTable(
          tmp.path(`p${fileNo++}.${parquet ? "parquet" : "csv"}`),
          { x: "DOUBLE", s: "VARCHAR" },
          rows as Cell[][],
        );
        const p = await profileDataset(parquet ? file : { path: file, types: { x: "DOUBLE", s: "VARCHAR" } }, {
          bins: 4,
          topK: 3,
        });
        expect(p.rowCount).toBe(rows.length);
        const xs = rows
          .map((r) => r[0])
          .filter((v): v is number => v !== null)
          .sort((a, b) => a - b);
        const x = p.columns[0];
        expect(x.count).toBe(xs.length);
        expect(x.nullCount).toBe(rows.length - xs.length);
        expect(x.distinctCount).toBe(new Set(xs).size);
        if (xs.length) {
          const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
          expect(x.min).toBe(xs[0]);
          expect(x.max).toBe(xs[xs.length - 1]);
          expect(x.mean).toBeCloseTo(mean, 9);
          if (xs.length > 1)
            expect(x.std).toBeCloseTo(Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)), 9);
          expect(x.quantiles!.p25).toBeCloseTo(quantile(xs, 0.25), 9);
          expect(x.quantiles!.p99).toBeCloseTo(quantile(xs, 0.99), 9);
          const e = x.histogram!.edges;
          const counts = [0, 0, 0, 0];
          for (const v of xs) counts[v < e[1] ? 0 : v < e[2] ? 1 : v < e[3] ? 2 : 3]++;
          expect(x.histogram!.counts).toEqual(counts);
        }
        const ss = rows.map((r) => r[1] as string | null).filter((v): v is string => v !== null);
        const freq = new Map<string, number>();
        for (const v of ss) freq.set(v, (freq.get(v) ?? 0) + 1);
        const top = [...freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3);
        const s = p.columns[1];
        expect(s.nullCount).toBe(rows.length - ss.length);
        expect(s.topK!.values).toEqual(top.map(([value, count]) => ({ value, count })));
        expect(s.topK!.otherCount).toBe(ss.length - top.reduce((a, t) => a + t[1], 0));
      }),
      { numRuns: 30 },
    );
  });
});

describe("contract properties", () => {
  it("finds exactly the offending rows a direct JS check finds", async () => {
    const spec = fc.record({
      min: fc.option(fc.integer({ min: -10, max: 5 }), { nil: undefined }),
      max: fc.option(fc.integer({ min: -5, max: 10 }), { nil: undefined }),
      nullable: fc.option(fc.boolean(), { nil: undefined }),
      allowed: fc.option(fc.subarray(["a", "b", "c", "dd"]), { nil: undefined }),
      unique: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(table, spec, async (rows, c) => {
        const file = await writeTable(
          tmp.path(`c${fileNo++}.parquet`),
          { x: "DOUBLE", s: "VARCHAR" },
          rows as Cell[][],
        );
        const x: ColumnContract = { min: c.min, max: c.max, nullable: c.nullable, unique: c.unique };
        const s: ColumnContract = c.allowed ? { allowedValues: c.allowed } : {};
        if (typeof c.min === "number" && typeof c.max === "number" && c.min > c.max) return;
        const report = await checkContract(file, { columns: { x, s } });
        const offending = (pred: (r: (typeof rows)[number]) => boolean) =>
          rows.flatMap((r, i) => (pred(r) ? [i + 1] : []));
        const expectRule = (column: string, rule: string, rowsHit: number[]) => {
          const v = report.violations.find((x) => x.column === column && x.rule === rule);
          if (rowsHit.length === 0) expect(v, `${column}.${rule}`).toBeUndefined();
          else {
            expect(v?.count, `${column}.${rule}`).toBe(rowsHit.length);
            expect(v?.examples.map((e) => e.row)).toEqual(rowsHit.slice(0, 5));
          }
        };
        expectRule("x", "min", c.min === undefined ? [] : offending((r) => r[0] !== null && r[0] < c.min!));
        expectRule("x", "max", c.max === undefined ? [] : offending((r) => r[0] !== null && r[0] > c.max!));
        expectRule("x", "nullable", c.nullable === false ? offending((r) => r[0] === null) : []);
        expectRule(
          "s",
          "allowedValues",
          c.allowed ? offending((r) => r[1] !== null && !c.allowed!.includes(r[1])) : [],
        );
        if (c.unique) {
          const seen = new Map<number, number>();
          for (const r of rows) if (r[0] !== null) seen.set(r[0], (seen.get(r[0]) ?? 0) + 1);
          const dupRows = offending((r) => r[0] !== null && (seen.get(r[0]) ?? 0) > 1);
          const dupCount = [...seen.values()].reduce((a, n) => a + n - 1, 0);
          const v = report.violations.find((x) => x.rule === "unique");
          if (dupCount === 0) expect(v).toBeUndefined();
          else {
            expect(v?.count).toBe(dupCount);
            expect(v?.examples.map((e) => e.row)).toEqual(dupRows.slice(0, 5));
          }
        }
        expect(report.passed).toBe(report.violations.length === 0);
      }),
      { numRuns: 30 },
    );
  });
});
