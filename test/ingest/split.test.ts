/** Splits are reproducible, keyed, exact per stratum, and cut time at the cutoff. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/lib/data/data-error.js";
import { queryRows, withConnection } from "../../src/lib/data/duck.js";
import { splitDataset } from "../../src/lib/data/split.js";
import { makeTempDir, writeTable, type Cell } from "../data/temp-data.js";

const tmp = makeTempDir("ty-split-");
afterAll(() => tmp.cleanup());
let src: string;
let k = 0;
const dir = () => tmp.path(`split-${++k}`);
const ids = (path: string) =>
  withConnection((con) => queryRows(con, `SELECT id FROM read_parquet('${path}') ORDER BY id`)).then((r) =>
    r.map((x) => x.id as number),
  );

beforeAll(async () => {
  src = tmp.path("data.parquet");
  const rows: Cell[][] = [];
  for (let i = 0; i < 1000; i++)
    rows.push([i, i % 10 === 0 ? "rare" : i % 3 === 0 ? "b" : "a", `2001-0${1 + (i % 6)}-15 12:00:00`]);
  await writeTable(src, { id: "INTEGER", cls: "VARCHAR", ts: "TIMESTAMP" }, rows);
});

describe("splitDataset", () => {
  it("random: reproducible for a seed, different for another, close to the fraction", async () => {
    const a = await splitDataset(src, { method: "random", testFraction: 0.2, seed: 1 }, dir());
    const b = await splitDataset(src, { method: "random", testFraction: 0.2, seed: 1 }, dir());
    const c = await splitDataset(src, { method: "random", testFraction: 0.2, seed: 2 }, dir());
    expect(await ids(a.test.path)).toEqual(await ids(b.test.path));
    expect(await ids(a.test.path)).not.toEqual(await ids(c.test.path));
    expect(a.train.rows + a.test.rows).toBe(1000);
    expect(a.test.rows).toBeGreaterThan(150);
    expect(a.test.rows).toBeLessThan(250);
    const train = new Set(await ids(a.train.path));
    expect((await ids(a.test.path)).some((id) => train.has(id))).toBe(false);
  });

  it("random by key: a row keeps its side when other rows are removed", async () => {
    const full = await splitDataset(src, { method: "random", testFraction: 0.3, seed: 5, key: "id" }, dir());
    const part = await splitDataset(
      { path: src, where: "id % 2 = 0" },
      { method: "random", testFraction: 0.3, seed: 5, key: "id" },
      dir(),
    );
    const fullTest = new Set(await ids(full.test.path));
    expect((await ids(part.test.path)).every((id) => fullTest.has(id))).toBe(true);
    expect((await ids(part.train.path)).some((id) => fullTest.has(id))).toBe(false);
  });

  it("stratified: exactly round(n * fraction) of every class", async () => {
    const s = await splitDataset(src, { method: "stratified", column: "cls", testFraction: 0.25, seed: 3 }, dir());
    const counts = await withConnection((con) =>
      queryRows(con, `SELECT cls, count(*) AS n FROM read_parquet('${s.test.path}') GROUP BY cls ORDER BY cls`),
    );
    // a: 600 - 0? computed from the data: rare = 100, b = ids %3==0 and %10!=0 = 300, a = 600.
    expect(counts).toEqual([
      { cls: "a", n: 150 },
      { cls: "b", n: 75 },
      { cls: "rare", n: 25 },
    ]);
    expect(s.test.rows).toBe(250);
  });

  it("time: train before the cutoff, test at or after it", async () => {
    const t = await splitDataset(src, { method: "time", column: "ts", cutoff: "2001-05-15 12:00" }, dir());
    const range = (p: string) =>
      withConnection((con) =>
        queryRows(con, `SELECT min(month(ts)) AS lo, max(month(ts)) AS hi FROM read_parquet('${p}')`),
      );
    expect(await range(t.train.path)).toEqual([{ lo: 1, hi: 4 }]);
    expect(await range(t.test.path)).toEqual([{ lo: 5, hi: 6 }]);
  });

  it("an empty side or a bad option is a DataError, and nothing is left behind", async () => {
    const d = dir();
    await expect(splitDataset(src, { method: "time", column: "ts", cutoff: "1999-01-01" }, d)).rejects.toMatchObject({
      code: "EMPTY_DATASET",
    });
    await expect(splitDataset(src, { method: "random", testFraction: 1.5 }, d)).rejects.toBeInstanceOf(DataError);
    await expect(splitDataset(src, { method: "time", column: "ts", cutoff: "someday" }, d)).rejects.toMatchObject({
      code: "INVALID_OPTION",
    });
    await expect(
      splitDataset(src, { method: "stratified", column: "nope", testFraction: 0.2 }, d),
    ).rejects.toMatchObject({ code: "COLUMN_NOT_FOUND" });
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(d)).toEqual([]);
  });
});
