/** Freshness fails fast, naming the source, column and age, against an injected `now`. */
import { utimesSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { checkFreshness, parseDuration } from "../../src/lib/data/freshness.js";
import { makeTempDir, writeTable } from "../data/temp-data.js";

const tmp = makeTempDir("ty-fresh-");
afterAll(() => tmp.cleanup());

describe("checkFreshness", () => {
  it("by the newest value of a timestamp column", async () => {
    const f = tmp.path("events.parquet");
    await writeTable(f, { ts: "TIMESTAMP", v: "INTEGER" }, [
      ["2001-06-01 00:00:00", 1],
      ["2001-06-30 12:00:00", 2],
    ]);
    const ok = await checkFreshness(f, { column: "ts", maxAge: "2d", now: new Date("2001-07-01T12:00:00Z") });
    expect(ok).toMatchObject({ basis: "column", newest: "2001-06-30T12:00:00.000Z", ageMs: 86_400_000 });
    const stale = checkFreshness(f, { column: "ts", maxAge: "36h", now: Date.UTC(2001, 6, 5) });
    await expect(stale).rejects.toMatchObject({ code: "STALE_DATA", file: f, column: "ts" });
    await expect(stale).rejects.toThrow(/4\.5d old.*over the 1\.5d bound/);
  });

  it("by file modification time, over a directory of partitions", async () => {
    const a = tmp.path("p1.csv");
    const b = tmp.path("p2.csv");
    writeFileSync(a, "x\n1\n");
    writeFileSync(b, "x\n2\n");
    utimesSync(a, new Date("2024-01-01T00:00:00Z"), new Date("2024-01-01T00:00:00Z"));
    utimesSync(b, new Date("2024-01-03T00:00:00Z"), new Date("2024-01-03T00:00:00Z"));
    const ok = await checkFreshness(`${tmp.dir}/p*.csv`, { maxAge: "1d", now: Date.UTC(2024, 0, 3, 6) });
    expect(ok).toMatchObject({ basis: "mtime", source: b });
    await expect(
      checkFreshness(`${tmp.dir}/p*.csv`, { maxAge: "1h", now: Date.UTC(2024, 0, 3, 6) }),
    ).rejects.toMatchObject({ code: "STALE_DATA", file: b });
  });

  it("a missing column and a bad duration are errors too", async () => {
    const f = tmp.path("e2.parquet");
    await writeTable(f, { ts: "TIMESTAMP" }, [["2001-06-01 00:00:00"]]);
    await expect(checkFreshness(f, { column: "when", maxAge: "1d" })).rejects.toMatchObject({
      code: "COLUMN_NOT_FOUND",
    });
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
    expect(parseDuration("90s")).toBe(90_000);
  });
});
