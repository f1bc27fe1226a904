import { afterAll, describe, expect, it } from "vitest";
import { checkContract } from "../../src/lib/data/contract-check.js";
import { inferContract, renderContractModule } from "../../src/lib/data/contract-infer.js";
import { validateContract, type Contract } from "../../src/lib/data/contract.js";
import { DataError } from "../../src/lib/data/data-error.js";
import { makeTempDir, writeTable } from "./temp-data.js";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

const rows = [
  [1, "a", 10.5, "2024-03-01 10:00:00"],
  [2, "b", -3, "2024-03-02 10:00:00"],
  [2, "zz", 7, null],
  [4, null, 1e9, "2024-03-03 10:00:00"],
  [5, "a", 8, "2024-03-04 10:00:00"],
];

describe("checkContract", () => {
  it("lists every violation with example rows", async () => {
    const file = await writeTable(
      tmp.path("c.parquet"),
      { id: "BIGINT", code: "VARCHAR", amount: "DOUBLE", ts: "TIMESTAMP" },
      rows,
    );
    const contract: Contract = {
      name: "orders",
      columns: {
        id: { type: "integer", nullable: false, unique: true, min: 1 },
        code: { type: "string", allowedValues: ["a", "b"], pattern: "[a-z]", maxNullFraction: 0.1 },
        amount: { type: "float", min: 0, max: 1000 },
        ts: { type: "timestamp" },
        missing: { type: "string" },
      },
      table: { minRows: 10, freshness: { column: "ts", maxAge: "1d", now: "2024-03-10T00:00:00Z" } },
    };
    const report = await checkContract(file, contract);
    expect(report.passed).toBe(false);
    const by = (col: string | undefined, rule: string) =>
      report.violations.find((v) => v.column === col && v.rule === rule);
    expect(by("missing", "required")).toBeDefined();
    expect(by(undefined, "minRows")?.found).toBe("5 rows");
    expect(by("ts", "freshness")).toBeDefined();
    expect(by("id", "unique")?.examples.map((e) => e.row)).toEqual([2, 3]);
    expect(by("code", "allowedValues")?.examples).toEqual([{ row: 3, value: "zz" }]);
    expect(by("code", "maxNullFraction")?.count).toBe(1);
    expect(by("amount", "min")?.examples).toEqual([{ row: 2, value: "-3.0" }]);
    expect(by("amount", "max")?.examples[0]?.row).toBe(4);
    expect(by("id", "nullable")).toBeUndefined();
    expect(by("code", "pattern")?.examples).toEqual([{ row: 3, value: "zz" }]);
    expect(report.violations).toHaveLength(9);
  });

  it("reports unparsable values of a mixed-type text column row by row", async () => {
    const file = await writeTable(tmp.path("m.csv"), { v: "VARCHAR" }, [["1"], ["2"], ["x"], ["4"], ["y"]]);
    const report = await checkContract(file, { columns: { v: { type: "integer", max: 3 } } });
    const type = report.violations.find((v) => v.rule === "type")!;
    expect(type.count).toBe(2);
    expect(type.examples).toEqual([
      { row: 3, value: "x" },
      { row: 5, value: "y" },
    ]);
    expect(report.violations.find((v) => v.rule === "max")?.examples).toEqual([{ row: 4, value: "4" }]);
  });

  it("passes a satisfied contract and rejects an invalid one", async () => {
    const file = await writeTable(tmp.path("ok.csv"), { a: "BIGINT" }, [[1], [2]]);
    expect((await checkContract(file, { columns: { a: { type: "integer", min: 0, unique: true } } })).passed).toBe(
      true,
    );
    expect(() => validateContract({ columns: { a: { min: 5, max: 1 } } })).toThrow(DataError);
    expect(() => validateContract({ columns: { a: { pattern: "(" } } })).toThrow(/pattern/);
    expect(() => validateContract({ columns: { a: { bogus: 1 } } })).toThrow(/CONTRACT|invalid/i);
  });
});

describe("inferContract", () => {
  it("drafts a contract the data satisfies, and renders an editable module", async () => {
    const file = await writeTable(
      tmp.path("i.parquet"),
      { id: "BIGINT", code: "VARCHAR", amount: "DOUBLE", ts: "TIMESTAMP" },
      rows,
    );
    const contract = await inferContract(file);
    expect(contract.columns.code.allowedValues).toEqual(["a", "b", "zz"]);
    expect(contract.columns.id).toMatchObject({ type: "integer", nullable: false });
    expect(contract.columns.amount.min).toBeLessThanOrEqual(-3);
    const report = await checkContract(file, contract);
    expect(report.violations).toEqual([]);
    const source = renderContractModule(contract);
    expect(source).toContain('import type { Contract } from "trainyard/data";');
    expect(source).toContain('allowedValues: ["a", "b", "zz"]');
    const literal = source.slice(source.indexOf("= ") + 2, source.lastIndexOf(";\n\nexport default"));
    expect(new Function(`return (${literal});`)()).toEqual(JSON.parse(JSON.stringify(contract)));
  });
});
