/** Serving rows are validated strictly: every bad value is a 400 naming the row and field. */
import { describe, expect, it } from "vitest";
import {
  FeatureInputError,
  parseTimestamp,
  rowsToRawColumns,
  applyFeatures,
  type FittedFeatures,
} from "../../src/lib/features/index.js";

const fitted: FittedFeatures = {
  version: 1,
  inputs: [
    { name: "date", type: "timestamp", nullable: false },
    { name: "distance", type: "number", nullable: true },
    { name: "origin", type: "string", nullable: false },
    { name: "late", type: "boolean", nullable: false },
  ],
  transforms: [
    { kind: "datepart", column: "date", parts: ["hour"], outputs: ["date_hour"] },
    { kind: "passthrough", column: "distance", output: "distance" },
    { kind: "ordinal", column: "origin", output: "origin", categories: ["ATL", "ORD"] },
    { kind: "passthrough", column: "late", output: "late" },
  ],
  outputs: [
    { name: "date_hour", type: "numeric" },
    { name: "distance", type: "numeric" },
    { name: "origin", type: "categorical" },
    { name: "late", type: "numeric" },
  ],
  trainingRows: 10,
};

const good = { date: "2001-03-04T05:06:07Z", distance: 500, origin: "ORD", late: false };

function reject(rows: unknown[]): FeatureInputError {
  try {
    rowsToRawColumns(fitted, rows);
  } catch (err) {
    expect(err).toBeInstanceOf(FeatureInputError);
    expect((err as FeatureInputError).status).toBe(400);
    return err as FeatureInputError;
  }
  throw new Error("expected a FeatureInputError");
}

describe("rowsToRawColumns", () => {
  it("accepts a good row, null for a nullable field, and epoch ms for timestamps", () => {
    const raw = rowsToRawColumns(fitted, [good, { ...good, distance: null, date: Date.UTC(2001, 0, 1, 13) }]);
    const m = applyFeatures(fitted, raw);
    expect(Array.from(m.columns[0])).toEqual([5, 13]);
    expect(Array.from(m.columns[1])).toEqual([500, NaN]);
    expect(Array.from(m.columns[2])).toEqual([1, 1]);
  });

  it.each([
    ["missing field", [good, { date: good.date, origin: "ATL", late: true }], "MISSING_FIELD", "distance", 1],
    ["string for a number", [{ ...good, distance: "500" }], "WRONG_TYPE", "distance", 0],
    ["number for a string", [{ ...good, origin: 7 }], "WRONG_TYPE", "origin", 0],
    ["string for a boolean", [{ ...good, late: "false" }], "WRONG_TYPE", "late", 0],
    ["unknown field", [good, good, { ...good, distnace: 3 }], "UNKNOWN_FIELD", "distnace", 2],
    ["NaN", [{ ...good, distance: NaN }], "NON_FINITE", "distance", 0],
    ["Infinity", [{ ...good, distance: Infinity }], "NON_FINITE", "distance", 0],
    ["unparsable timestamp", [{ ...good, date: "yesterday" }], "INVALID_TIMESTAMP", "date", 0],
    ["impossible date", [{ ...good, date: "2001-02-30" }], "INVALID_TIMESTAMP", "date", 0],
    ["null where training never had one", [{ ...good, origin: null }], "NULL_VALUE", "origin", 0],
    ["an array instead of an object", [[1, 2]], "NOT_AN_OBJECT", undefined, 0],
  ])("%s", (_name, rows, code, field, row) => {
    const err = reject(rows as unknown[]);
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
    expect(err.row).toBe(row);
    if (field) expect(err.message).toContain(field);
    expect(err.hint.length).toBeGreaterThan(5);
    expect(err.toJSON().error.code).toBe(code);
  });

  it("unknown fields can be allowed explicitly (e.g. a request id)", () => {
    expect(rowsToRawColumns(fitted, [{ ...good, id: "r-1" }], { allowUnknownFields: true }).rows).toBe(1);
  });

  it("a prototype-named field is unknown, not an input", () => {
    expect(
      reject([
        JSON.parse(`{"__proto__": {"x": 1}, "date": "2001-01-01", "distance": 1, "origin": "ATL", "late": true}`),
      ]).code,
    ).toBe("UNKNOWN_FIELD");
  });
});

describe("parseTimestamp", () => {
  it("reads dates and times as UTC, honours offsets, rejects the rest", () => {
    expect(parseTimestamp("2001-01-01")).toBe(Date.UTC(2001, 0, 1));
    expect(parseTimestamp("2001-01-01 10:30")).toBe(Date.UTC(2001, 0, 1, 10, 30));
    expect(parseTimestamp("2001-01-01T10:30:15.250")).toBe(Date.UTC(2001, 0, 1, 10, 30, 15, 250));
    expect(parseTimestamp("2001-01-01T10:30:00+02:00")).toBe(Date.UTC(2001, 0, 1, 8, 30));
    expect(parseTimestamp("2000-02-29")).toBe(Date.UTC(2000, 1, 29));
    for (const bad of ["2001-02-29", "2001-13-01", "2001-01-01T24:00", "01/02/2001", "", "2001-1-1"])
      expect(parseTimestamp(bad)).toBeNaN();
  });
});
