import { writeFileSync, mkdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/lib/data/data-error.js";
import { detectDrift } from "../../src/lib/data/drift.js";
import { readColumns } from "../../src/lib/data/duck.js";
import { profileDataset } from "../../src/lib/data/profile.js";
import { makeTempDir } from "./temp-data.js";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

async function failure(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return err as DataError;
  }
  throw new Error("expected a DataError");
}

describe("bad input becomes a DataError naming file, place and fix", () => {
  it("malformed CSV row", async () => {
    const f = tmp.path("ragged.csv");
    writeFileSync(f, "a,b,c\n1,2,3\n4,5\n6,7,8\n");
    const e = await failure(profileDataset(f));
    expect(e).toMatchObject({ code: "MALFORMED_ROW", file: f, line: 3, row: 2 });
    expect(e.hint).toMatch(/fields/);
  });

  it("mixed types after the sniffed sample", async () => {
    const f = tmp.path("mixed.csv");
    writeFileSync(f, "a,b\n" + Array.from({ length: 30000 }, (_, i) => `${i},x`).join("\n") + "\nabc,y\n");
    const e = await failure(profileDataset(f));
    expect(e).toMatchObject({ code: "MIXED_TYPES", file: f, line: 30002, row: 30001, column: "a" });
    expect(e.hint).toMatch(/VARCHAR/);
  });

  it("non-UTF-8 bytes", async () => {
    const f = tmp.path("latin1.csv");
    writeFileSync(f, Buffer.concat([Buffer.from("a,b\n1,caf"), Buffer.from([0xe9]), Buffer.from("\n2,ok\n")]));
    const e = await failure(profileDataset(f));
    expect(e).toMatchObject({ code: "INVALID_ENCODING", file: f, line: 2 });
    expect(e.hint).toMatch(/UTF-8/);
    const ok = await profileDataset({ path: f, encoding: "latin-1" });
    expect(ok.columns[1].topK?.values.map((v) => v.value)).toContain("café");
  });

  it("empty file, missing file, directory, corrupt parquet", async () => {
    const empty = tmp.path("empty.csv");
    writeFileSync(empty, "");
    expect(await failure(profileDataset(empty))).toMatchObject({ code: "EMPTY_FILE", file: empty });
    expect(await failure(profileDataset(tmp.path("nope.parquet")))).toMatchObject({ code: "FILE_NOT_FOUND" });
    const dir = tmp.path("adir.parquet");
    mkdirSync(dir);
    expect(await failure(profileDataset(dir))).toMatchObject({ code: "FILE_UNREADABLE", file: dir });
    const bad = tmp.path("bad.parquet");
    writeFileSync(bad, "definitely not parquet");
    const e = await failure(profileDataset(bad));
    expect(e).toMatchObject({ code: "FILE_UNREADABLE", file: bad });
    expect(await failure(profileDataset(tmp.path("x.xlsx")))).toMatchObject({ code: "FILE_NOT_FOUND" });
    writeFileSync(tmp.path("x.xlsx"), "zz");
    expect(await failure(profileDataset(tmp.path("x.xlsx")))).toMatchObject({ code: "UNSUPPORTED_FORMAT" });
  });

  it("NaN/Infinity in drift, with the first offending row", async () => {
    const f = tmp.path("nan.csv");
    writeFileSync(f, "x\n1.5\n2\nnan\ninf\n");
    const e = await failure(detectDrift(f, f));
    expect(e).toMatchObject({ code: "NON_FINITE_VALUE", column: "x", row: 3, rule: "finite" });
    const dropped = await detectDrift(f, f, { nonFinite: "drop" });
    expect(dropped.verdict).toBe("pass");
  });

  it("a missing column", async () => {
    const f = tmp.path("cols.csv");
    writeFileSync(f, "alpha,beta\n1,2\n");
    const e = await failure(readColumns(f, ["Alpha"]));
    expect(e).toMatchObject({ code: "COLUMN_NOT_FOUND", column: "Alpha", file: f });
    expect((await failure(profileDataset(f, { columns: ["gamma"] }))).hint).toMatch(/alpha, beta/);
    expect(await failure(detectDrift(f, f, { include: ["gamma"] }))).toMatchObject({ code: "COLUMN_NOT_FOUND" });
  });

  it("an empty side in drift", async () => {
    const f = tmp.path("one.csv");
    writeFileSync(f, "x\n1\n2\n");
    expect(await failure(detectDrift(f, { path: f, where: "x > 10" }))).toMatchObject({ code: "EMPTY_DATASET" });
  });
});
