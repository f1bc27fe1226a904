/**
 * Profiles and drift reports are bit-reproducible: the same data profiled and compared again and
 * again, with DuckDB on 1, 2 and 4 threads, gives one digest; and the exact sums behind them agree
 * with a direct JS computation on the same rows.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectDrift } from "../../src/lib/data/drift.js";
import { queryRows, readColumns, withConnection } from "../../src/lib/data/duck.js";
import { bigintTimesPowerOfTwo, exactSums } from "../../src/lib/data/exact-sum.js";
import { profileDataset } from "../../src/lib/data/profile.js";
import { sqlString } from "../../src/lib/data/sql-text.js";
import { makeTempDir } from "./temp-data.js";

const tmp = makeTempDir("ty-exact-");
const FILE = tmp.path("awkward.parquet");
const ROWS = 40_000;
const reference = { path: FILE, where: "i % 3 <> 0" };
const current = { path: FILE, where: "i % 3 = 0" };

async function setThreads(threads: number): Promise<void> {
  await withConnection((con) => con.run(`SET threads = ${threads}`));
}

beforeAll(async () => {
  // Awkward floats: thirds and sevenths across twelve orders of magnitude, both signs, nearly all
  // distinct, so that the value-count table is as large as the data and DuckDB splits its work.
  await withConnection((con) =>
    con.run(
      `COPY (SELECT i,
          (hash(i) % 1000003)::DOUBLE / 3 * pow(10.0, (hash(i + 7) % 13)::INTEGER - 6) *
            CASE WHEN hash(i + 3) % 2 = 0 THEN 1 ELSE -1 END + CASE WHEN i % 3 = 0 THEN 0.1 ELSE 0 END AS x,
          (hash(i + 11) % 100000)::DOUBLE / 7 + 1e6 AS y,
          'c' || (hash(i + 5) % 4000)::VARCHAR AS c
        FROM range(${ROWS}) t(i)) TO ${sqlString(FILE)} (FORMAT parquet, ROW_GROUP_SIZE 10000)`,
    ),
  );
});
afterAll(async () => {
  await setThreads(2);
  tmp.cleanup();
});

const digest = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

describe("profile and drift are bit-reproducible", () => {
  it("gives one digest over 18 runs on 1, 2 and 4 DuckDB threads", async () => {
    const profiles = new Set<string>();
    const reports = new Set<string>();
    for (const threads of [1, 2, 4]) {
      await setThreads(threads);
      for (let run = 0; run < 6; run++) {
        profiles.add(digest(await profileDataset(FILE, { columns: ["x", "y", "c"] })));
        reports.add(digest(await detectDrift(reference, current, { include: ["x", "y", "c"] })));
      }
    }
    expect(profiles.size).toBe(1);
    expect(reports.size).toBe(1);
  }, 120_000);

  it("agrees with a two-pass JS computation on the same rows", async () => {
    await setThreads(4);
    const profile = await profileDataset(FILE, { columns: ["x", "y"] });
    const data = await readColumns(FILE, ["i", "x", "y"]);
    const column = (name: string) => (data.columns[name] as { values: Float64Array }).values;
    for (const name of ["x", "y"]) {
      const values = column(name);
      let sum = 0;
      for (const v of values) sum += v;
      const mean = sum / values.length;
      let squares = 0;
      for (const v of values) squares += (v - mean) * (v - mean);
      const std = Math.sqrt(squares / (values.length - 1));
      const got = profile.columns.find((c) => c.name === name)!;
      const scale = values.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      expect(Math.abs(got.mean! - mean), name).toBeLessThan(scale * 1e-12);
      expect(got.std! / std, name).toBeCloseTo(1, 10);
    }
    // Wasserstein and KS between the two sides, from sorted samples.
    const ids = column("i");
    const xs = column("x");
    const ref = xs.filter((_, k) => ids[k] % 3 !== 0).sort();
    const cur = xs.filter((_, k) => ids[k] % 3 === 0).sort();
    const { ks, wasserstein } = cdfDistances(ref, cur);
    const report = await detectDrift(reference, current, { include: ["x"] });
    const x = report.columns[0];
    expect(x.stats.ksStatistic!.value).toBeCloseTo(ks, 12);
    expect(x.stats.wasserstein!.value! / wasserstein).toBeCloseTo(1, 10);
  }, 60_000);

  it("categorical sums agree with JS: chi-square and Jensen-Shannon", async () => {
    const report = await detectDrift(reference, current, { include: ["c"] });
    const counts = await withConnection((con) =>
      queryRows(
        con,
        `SELECT c, count(*) FILTER (WHERE i % 3 <> 0) AS a, count(*) FILTER (WHERE i % 3 = 0) AS b
         FROM read_parquet(${sqlString(FILE)}) GROUP BY c`,
      ),
    );
    const a = counts.map((r) => Number(r.a));
    const b = counts.map((r) => Number(r.b));
    const na = a.reduce((s, v) => s + v, 0);
    const nb = b.reduce((s, v) => s + v, 0);
    let chi = 0;
    let kl = 0;
    for (let k = 0; k < a.length; k++) {
      const e = (nb * (a[k] + 0.5)) / (na + 0.5 * a.length);
      chi += ((b[k] - e) * (b[k] - e)) / e;
      const [pa, pb] = [a[k] / na, b[k] / nb];
      const m = (pa + pb) / 2;
      kl += (pa > 0 ? pa * Math.log(pa / m) : 0) + (pb > 0 ? pb * Math.log(pb / m) : 0);
    }
    const c = report.columns[0];
    expect(c.chiSquare!.statistic / chi).toBeCloseTo(1, 10);
    expect(c.stats.jsDistance!.value!).toBeCloseTo(Math.sqrt(kl / 2), 12);
  });
});

describe("exact sums", () => {
  it("are exact where a double sum is not, and keep IEEE non-finite results", async () => {
    await withConnection(async (con) => {
      const from = (values: string[]) => `(SELECT unnest([${values.join(", ")}]::DOUBLE[]) AS v)`;
      const sum = async (values: string[], weight?: string) =>
        (await exactSums(con, { from: from(values), terms: { v: "v" }, weight })).get("")?.v;
      expect(await sum(["1e308", "1e308", "-1e308", "0.1", "0.2"])).toBe(1e308);
      expect(await sum(["1e16", "1", "1", "-1e16"])).toBe(2);
      // 0.1 + 0.2 - 0.3 in doubles is 2^-54 (one rounding); the exact sum of those three doubles is 2^-55.
      expect(await sum(["0.1", "0.2", "-0.3"])).toBe(2 ** -55);
      expect(await sum(["5e-324", "5e-324"])).toBe(1e-323);
      // What the scheme gives up: bits below 2^-62 of the largest term are rounded away.
      expect(await sum(["1e300", "-1e300", "1e-300"])).toBe(0);
      expect(await sum(["1", "2 ^ -61", "2 ^ -61"])).toBe(1 + 2 ** -60);
      expect(await sum(["0.1"], "3")).toBe(0.30000000000000004);
      expect(await sum(["'inf'::DOUBLE", "1"])).toBe(Infinity);
      expect(await sum(["'inf'::DOUBLE", "'-inf'::DOUBLE"])).toBeNaN();
    });
  });

  it("round a big integer times a power of two to the nearest double", () => {
    expect(bigintTimesPowerOfTwo(3n, -1)).toBe(1.5);
    expect(bigintTimesPowerOfTwo((1n << 200n) + 1n, -200)).toBe(1);
    // Just above half an ulp of 1: rounds up only because a dropped low bit is kept as sticky.
    expect(bigintTimesPowerOfTwo((1n << 300n) + (1n << 247n) + 1n, -300)).toBe(1 + 2 ** -52);
    expect(bigintTimesPowerOfTwo((1n << 300n) + (1n << 247n), -300)).toBe(1);
    expect(bigintTimesPowerOfTwo(-5n, 1100)).toBe(-Infinity);
  });
});

/** sup |F - G| and the integral of |F - G| for two sorted samples (SciPy's definitions). */
function cdfDistances(a: Float64Array, b: Float64Array): { ks: number; wasserstein: number } {
  const all = Float64Array.from([...a, ...b]).sort();
  let [i, j, ks, wasserstein] = [0, 0, 0, 0];
  for (let k = 0; k < all.length; k++) {
    const v = all[k];
    if (k > 0 && v === all[k - 1]) continue;
    while (i < a.length && a[i] <= v) i++;
    while (j < b.length && b[j] <= v) j++;
    const diff = Math.abs(i / a.length - j / b.length);
    ks = Math.max(ks, diff);
    let next = k + 1;
    while (next < all.length && all[next] === v) next++;
    if (next < all.length) wasserstein += diff * (all[next] - v);
  }
  return { ks, wasserstein };
}
