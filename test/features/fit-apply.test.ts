/**
 * Fit on a small table, then apply through both raw paths (Parquet columns and JSON rows):
 * the matrices must be identical, and each transform must match a straightforward reference.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows, withConnection } from "../../src/lib/data/duck.js";
import {
  applyFeatures,
  fitFeatures,
  readRawColumns,
  rowsToRawColumns,
  sqlTransform,
  type FeatureSpec,
  type FittedFeatures,
} from "../../src/lib/features/index.js";
import { makeTempDir, rng, writeTable, type Cell } from "../data/temp-data.js";

const tmp = makeTempDir("ty-features-");
afterAll(() => tmp.cleanup());

const ORIGINS = ["ATL", "ORD", "DFW", "LAX", "SFO", "SEA", "BOS", "JFK"];
interface Row {
  date: string;
  distance: number | null;
  delay: number;
  origin: string;
  destination: string | null;
  late: boolean;
}

const rows: Row[] = [];
const r = rng(7);
for (let i = 0; i < 400; i++) {
  const day = 1 + r.int(0, 27);
  // Drawn in this order (month, hour, minute) so the generated rows stay the same.
  const [month, hour, minute] = [1 + r.int(0, 5), r.int(0, 23), r.int(0, 59)];
  const two = (n: number) => String(n).padStart(2, "0");
  rows.push({
    date: `2001-0${month}-${two(day)} ${two(hour)}:${two(minute)}:00`,
    distance: i % 17 === 3 ? null : Math.round(r.normal(800, 400) * 10) / 10,
    delay: r.int(-20, 120),
    // Skewed so top-k has a clear order.
    origin: ORIGINS[Math.min(ORIGINS.length - 1, Math.floor(Math.abs(r.normal(0, 2.5))))],
    destination: i % 23 === 5 ? null : ORIGINS[r.int(0, ORIGINS.length - 1)],
    late: r.next() < 0.3,
  });
}

const spec: FeatureSpec = {
  transforms: [
    {
      kind: "datepart",
      column: "date",
      parts: ["year", "month", "day", "hour", "minute", "day_of_week", "day_of_year"],
    },
    { kind: "passthrough", column: "delay" },
    { kind: "passthrough", column: "late" },
    { kind: "standardize", column: "delay", name: "delay_z" },
    { kind: "minmax", column: "delay", name: "delay_01" },
    { kind: "impute", column: "distance", strategy: "median", indicator: true },
    { kind: "impute", column: "distance", strategy: "mean", name: "distance_mean" },
    { kind: "impute", column: "delay", strategy: "most_frequent", name: "delay_mode" },
    { kind: "impute", column: "distance", strategy: "constant", value: -1, name: "distance_c" },
    { kind: "onehot", column: "origin", topK: 3 },
    { kind: "frequency", column: "destination", name: "dest_freq" },
    { kind: "ordinal", column: "origin", name: "origin_code" },
    { kind: "bucketize", column: "delay", edges: [0, 15, 60], name: "delay_bucket" },
    { kind: "bucketize", column: "distance", quantiles: 4, name: "distance_q" },
    { kind: "hash", column: "destination", buckets: 16, name: "dest_hash" },
  ],
};

let parquet: string;
let fitted: FittedFeatures;

beforeAll(async () => {
  parquet = tmp.path("train.parquet");
  const cells: Cell[][] = rows.map((x) => [x.date, x.distance, x.delay, x.origin, x.destination, x.late]);
  await writeTable(
    parquet,
    {
      date: "TIMESTAMP",
      distance: "DOUBLE",
      delay: "INTEGER",
      origin: "VARCHAR",
      destination: "VARCHAR",
      late: "BOOLEAN",
    },
    cells,
  );
  fitted = await fitFeatures(parquet, spec);
});

let matrix: ReturnType<typeof applyFeatures> | undefined;
const col = (name: string) => {
  matrix ??= applyFeatures(fitted, rowsToRawColumns(fitted, rows));
  return matrix.columns[matrix.names.indexOf(name)];
};
const present = (xs: (number | null)[]) => xs.filter((v): v is number => v !== null);

describe("fitFeatures", () => {
  it("records typed inputs, nullability and outputs as plain JSON", () => {
    expect(JSON.parse(JSON.stringify(fitted))).toEqual(fitted);
    expect(fitted.inputs).toEqual([
      { name: "date", type: "timestamp", nullable: false },
      { name: "delay", type: "number", nullable: true }, // imputed
      { name: "late", type: "boolean", nullable: false },
      { name: "distance", type: "number", nullable: true },
      { name: "origin", type: "string", nullable: false },
      { name: "destination", type: "string", nullable: true },
    ]);
    expect(fitted.trainingRows).toBe(400);
    expect(fitted.outputs.find((o) => o.name === "origin_code")?.type).toBe("categorical");
    expect(fitted.outputs.map((o) => o.name)).toContain("origin=__other__");
    expect(fitted.outputs.map((o) => o.name)).toContain("distance_missing");
  });
});

describe("both raw paths give the same matrix", () => {
  it("readRawColumns(Parquet) == rowsToRawColumns(JSON rows)", async () => {
    const fromParquet = applyFeatures(fitted, await readRawColumns(parquet, fitted));
    const fromRows = applyFeatures(fitted, rowsToRawColumns(fitted, JSON.parse(JSON.stringify(rows))));
    expect(fromParquet.names).toEqual(fitted.outputs.map((o) => o.name));
    expect(fromRows.names).toEqual(fromParquet.names);
    expect(fromRows.rows).toBe(400);
    fromParquet.columns.forEach((c, j) =>
      expect(Array.from(fromRows.columns[j]), fromParquet.names[j]).toEqual(Array.from(c)),
    );
  });

  it("one row at a time equals the batch", () => {
    const batch = applyFeatures(fitted, rowsToRawColumns(fitted, rows));
    for (const i of [0, 3, 5, 399]) {
      const single = applyFeatures(fitted, rowsToRawColumns(fitted, [rows[i]]));
      expect(single.columns.map((c) => c[0])).toEqual(batch.columns.map((c) => c[i]));
    }
  });
});

describe("each transform matches a reference", () => {
  const delays = rows.map((x) => x.delay);
  const distances = present(rows.map((x) => x.distance));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it("standardize uses the population std", () => {
    const m = mean(delays);
    const sd = Math.sqrt(mean(delays.map((d) => (d - m) ** 2)));
    col("delay_z").forEach((v, i) => expect(v).toBeCloseTo((delays[i] - m) / sd, 10));
  });

  it("minmax maps the training range onto [0, 1]", () => {
    const lo = Math.min(...delays);
    const hi = Math.max(...delays);
    col("delay_01").forEach((v, i) => expect(v).toBeCloseTo((delays[i] - lo) / (hi - lo), 12));
  });

  it("impute: median, mean, most frequent, constant, indicator", () => {
    const sorted = [...distances].sort((a, b) => a - b);
    const median = (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;
    const counts = new Map<number, number>();
    for (const d of delays) counts.set(d, (counts.get(d) ?? 0) + 1);
    const mode = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
    rows.forEach((x, i) => {
      expect(col("distance")[i]).toBeCloseTo(x.distance ?? median, 10);
      expect(col("distance_mean")[i]).toBeCloseTo(x.distance ?? mean(distances), 10);
      expect(col("distance_c")[i]).toBe(x.distance ?? -1);
      expect(col("distance_missing")[i]).toBe(x.distance === null ? 1 : 0);
      expect(col("delay_mode")[i]).toBe(x.delay);
    });
    expect(
      (fitted.transforms.find((t) => t.kind === "impute" && t.output === "delay_mode") as { fill: number }).fill,
    ).toBe(mode);
  });

  it("onehot keeps the top k by count, the rest is other", () => {
    const counts = new Map<string, number>();
    for (const x of rows) counts.set(x.origin, (counts.get(x.origin) ?? 0) + 1);
    const top = [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 3)
      .map(([k]) => k);
    const oh = fitted.transforms.find((t) => t.kind === "onehot") as { categories: string[] };
    expect(oh.categories).toEqual(top);
    rows.forEach((x, i) => {
      for (const c of top) expect(col(`origin=${c}`)[i]).toBe(x.origin === c ? 1 : 0);
      expect(col("origin=__other__")[i]).toBe(top.includes(x.origin) ? 0 : 1);
    });
  });

  it("frequency is the share of training rows; ordinal is the sorted index; missing is NaN", () => {
    const sortedOrigins = [...new Set(rows.map((x) => x.origin))].sort();
    rows.forEach((x, i) => {
      if (x.destination === null) expect(col("dest_freq")[i]).toBeNaN();
      else
        expect(col("dest_freq")[i]).toBeCloseTo(
          rows.filter((y) => y.destination === x.destination).length / rows.length,
          12,
        );
      expect(col("origin_code")[i]).toBe(sortedOrigins.indexOf(x.origin));
    });
  });

  it("bucketize with given edges and fitted quantile edges (DuckDB quantile_cont)", async () => {
    rows.forEach((x, i) => expect(col("delay_bucket")[i]).toBe([0, 15, 60].filter((e) => e <= x.delay).length));
    const sorted = [...distances].sort((a, b) => a - b);
    const q = (p: number) => {
      const h = (sorted.length - 1) * p;
      return sorted[Math.floor(h)] + (h - Math.floor(h)) * (sorted[Math.ceil(h)] - sorted[Math.floor(h)]);
    };
    const edges = (
      fitted.transforms.find((t) => t.kind === "bucketize" && t.output === "distance_q") as { edges: number[] }
    ).edges;
    edges.forEach((e, k) => expect(e).toBeCloseTo(q((k + 1) / 4), 9));
    rows.forEach((x, i) =>
      expect(col("distance_q")[i]).toBe(x.distance === null ? NaN : edges.filter((e) => e <= x.distance!).length),
    );
  });

  it("hash buckets are FNV-1a of the UTF-8 bytes", () => {
    const fnv = (s: string) => {
      let h = 0x811c9dc5;
      for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
      return h;
    };
    rows.forEach((x, i) => expect(col("dest_hash")[i]).toBe(x.destination === null ? NaN : fnv(x.destination) % 16));
  });

  it("date parts agree with DuckDB (day_of_week = isodow - 1)", async () => {
    const duck = await withConnection((con) =>
      queryRows(
        con,
        `SELECT year(date) AS y, month(date) AS mo, day(date) AS d, hour(date) AS h, ` +
          `minute(date) AS mi, isodow(date) - 1 AS dow, dayofyear(date) AS doy FROM read_parquet('${parquet}')`,
      ),
    );
    duck.forEach((d, i) => {
      expect([
        col("date_year")[i],
        col("date_month")[i],
        col("date_day")[i],
        col("date_hour")[i],
        col("date_minute")[i],
        col("date_day_of_week")[i],
        col("date_day_of_year")[i],
      ]).toEqual([d.y, d.mo, d.d, d.h, d.mi, d.dow, d.doy]);
    });
  });

  it("passthrough keeps numbers and booleans as 0/1", () => {
    rows.forEach((x, i) => {
      expect(col("delay")[i]).toBe(x.delay);
      expect(col("late")[i]).toBe(x.late ? 1 : 0);
    });
  });
});

describe("unseen values at apply time", () => {
  it("unknown categories: onehot -> other, frequency -> 0, ordinal -> NaN; hash still works", () => {
    const m = applyFeatures(fitted, rowsToRawColumns(fitted, [{ ...rows[0], origin: "XXX", destination: "ZZZ" }]));
    const get = (n: string) => m.columns[m.names.indexOf(n)][0];
    expect(get("origin=__other__")).toBe(1);
    expect(get("dest_freq")).toBe(0);
    expect(get("origin_code")).toBeNaN();
    expect(get("dest_hash")).toBeGreaterThanOrEqual(0);
  });
});

describe("sqlTransform and declared input types", () => {
  it("derived columns become inputs; a declared string type is read as text", async () => {
    const src = sqlTransform(
      parquet,
      "SELECT *, delay * 2 AS delay2, CAST(delay AS INTEGER) % 3 AS bucket3 FROM input",
    );
    const f = await fitFeatures(src, {
      inputs: { bucket3: "string" },
      transforms: [
        { kind: "passthrough", column: "delay2" },
        { kind: "ordinal", column: "bucket3" },
      ],
    });
    expect(f.inputs.map((i) => [i.name, i.type])).toEqual([
      ["delay2", "number"],
      ["bucket3", "string"],
    ]);
    const ordinal = f.transforms[1] as { categories: string[] };
    expect(ordinal.categories).toEqual(["-1", "-2", "0", "1", "2"]);
    const m = applyFeatures(f, await readRawColumns(src, f));
    expect(Array.from(m.columns[0].slice(0, 5))).toEqual(rows.slice(0, 5).map((x) => x.delay * 2));
    const fromRows = applyFeatures(
      f,
      rowsToRawColumns(
        f,
        rows.map((x) => ({ delay2: x.delay * 2, bucket3: String(x.delay % 3 === 0 ? 0 : x.delay % 3) })),
      ),
    );
    expect(Array.from(fromRows.columns[1])).toEqual(Array.from(m.columns[1]));
  });
});
