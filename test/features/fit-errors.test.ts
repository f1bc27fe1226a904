/** A wrong spec fails before or at fitting with a DataError naming the column and the fix. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/lib/data/data-error.js";
import { fitFeatures, type FeatureSpec } from "../../src/lib/features/index.js";
import { makeTempDir, writeTable } from "../data/temp-data.js";

const tmp = makeTempDir("ty-features-err-");
afterAll(() => tmp.cleanup());
let file: string;

beforeAll(async () => {
  file = tmp.path("t.parquet");
  await writeTable(file, { x: "DOUBLE", s: "VARCHAR", empty: "DOUBLE", t: "TIMESTAMP" }, [
    [1, "a", null, "2001-01-01 00:00:00"],
    [2, "b", null, "2001-01-02 00:00:00"],
    [Infinity, "b", null, "2001-01-03 00:00:00"],
  ]);
});

async function fitError(spec: FeatureSpec, source: string = file): Promise<DataError> {
  try {
    await fitFeatures(source, spec);
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return err as DataError;
  }
  throw new Error("expected a DataError");
}

describe("fitFeatures errors", () => {
  it("unknown transform, bad options", async () => {
    expect(await fitError({ transforms: [{ kind: "scale" as never, column: "x" }] })).toMatchObject({
      code: "INVALID_OPTION",
    });
    expect(await fitError({ transforms: [{ kind: "hash", column: "s", buckets: 0 }] })).toMatchObject({
      code: "INVALID_OPTION",
      column: "s",
    });
    expect(await fitError({ transforms: [{ kind: "bucketize", column: "x", edges: [3, 1] }] })).toMatchObject({
      code: "INVALID_OPTION",
    });
    expect(await fitError({ transforms: [{ kind: "impute", column: "x", strategy: "constant" }] })).toMatchObject({
      code: "INVALID_OPTION",
    });
    expect(await fitError({ transforms: [] })).toMatchObject({ code: "INVALID_OPTION" });
  });

  it("missing column names the available ones", async () => {
    const e = await fitError({ transforms: [{ kind: "passthrough", column: "nope" }] });
    expect(e).toMatchObject({ code: "COLUMN_NOT_FOUND", column: "nope", file });
    expect(e.hint).toContain("x, s");
  });

  it("a transform on the wrong column type", async () => {
    expect(await fitError({ transforms: [{ kind: "onehot", column: "t" }] })).toMatchObject({
      code: "COLUMN_TYPE",
      column: "t",
    });
    expect(await fitError({ transforms: [{ kind: "standardize", column: "s" }] })).toMatchObject({
      code: "COLUMN_TYPE",
      column: "s",
    });
    expect(await fitError({ transforms: [{ kind: "datepart", column: "x", parts: ["hour"] }] })).toMatchObject({
      code: "COLUMN_TYPE",
      column: "x",
    });
  });

  it("Infinity in training data, an all-null column, duplicate output names", async () => {
    expect(await fitError({ transforms: [{ kind: "standardize", column: "x" }] })).toMatchObject({
      code: "NON_FINITE_VALUE",
      column: "x",
    });
    expect(await fitError({ transforms: [{ kind: "standardize", column: "empty" }] })).toMatchObject({
      code: "EMPTY_DATASET",
      column: "empty",
    });
    const dup = await fitError({
      transforms: [
        { kind: "ordinal", column: "s" },
        { kind: "frequency", column: "s" },
      ],
    });
    expect(dup).toMatchObject({ code: "INVALID_OPTION", column: "s" });
    expect(dup.hint).toMatch(/name/);
  });

  it("missing file", async () => {
    expect(
      await fitError({ transforms: [{ kind: "passthrough", column: "x" }] }, tmp.path("none.parquet")),
    ).toMatchObject({ code: "FILE_NOT_FOUND" });
  });
});
