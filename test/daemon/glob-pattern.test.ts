import { describe, expect, it } from "vitest";
import { globBase, globToRegExp } from "../../src/daemon/glob-pattern.js";

const matches = (glob: string, path: string) => globToRegExp(glob).test(path);

describe("glob patterns of file sensors", () => {
  it("keeps * and ? within one folder and lets ** span folders", () => {
    expect(matches("*.parquet", "2001-01.parquet")).toBe(true);
    expect(matches("*.parquet", "sub/2001-01.parquet")).toBe(false);
    expect(matches("**/*.parquet", "2001-01.parquet")).toBe(true);
    expect(matches("**/*.parquet", "a/b/2001-01.parquet")).toBe(true);
    expect(matches("month-??.csv", "month-01.csv")).toBe(true);
    expect(matches("month-??.csv", "month-1.csv")).toBe(false);
    expect(matches("data/**", "data/a/b.csv")).toBe(true);
    expect(matches("**/*", "x")).toBe(true);
  });

  it("supports braces, classes and literal dots", () => {
    expect(matches("*.{csv,parquet}", "a.csv")).toBe(true);
    expect(matches("*.{csv,parquet}", "a.json")).toBe(false);
    expect(matches("[ab]*.csv", "b1.csv")).toBe(true);
    expect(matches("[!ab]*.csv", "b1.csv")).toBe(false);
    expect(matches("a.csv", "abcsv")).toBe(false);
  });

  it("never matches hidden names with a wildcard (a writer's temporary file)", () => {
    expect(matches("*", ".2001-01.parquet.tmp")).toBe(false);
    expect(matches("**/*.parquet", ".staging/x.parquet")).toBe(false);
    expect(matches("*.parquet", ".x.parquet")).toBe(false);
  });

  it("finds the literal folder before the first wildcard", () => {
    expect(globBase("*.csv")).toBe("");
    expect(globBase("in/2001/*.csv")).toBe("in/2001");
    expect(globBase("in/**/x.csv")).toBe("in");
  });
});
