import { afterAll, describe, expect, it } from "vitest";
import { checkContract } from "../../src/lib/data/contract-check.js";
import { detectDrift } from "../../src/lib/data/drift.js";
import { profileDataset } from "../../src/lib/data/profile.js";
import { renderContractHtml, renderDriftHtml, renderProfileHtml } from "../../src/lib/data/report-html.js";
import { makeTempDir, writeTable } from "./temp-data.js";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

describe("HTML reports", () => {
  it("are self-contained pages with SVG bars and coloured verdicts", async () => {
    const a = await writeTable(tmp.path("a.csv"), { x: "DOUBLE", s: "VARCHAR" }, [
      [1, "<b>"],
      [2, "a"],
      [3, "a"],
      [4, "b"],
    ]);
    const b = await writeTable(tmp.path("b.csv"), { x: "DOUBLE", s: "VARCHAR" }, [
      [10, "a"],
      [20, "c"],
      [30, "c"],
      [40, "c"],
    ]);
    const pages = [
      renderProfileHtml(await profileDataset(a)),
      renderDriftHtml(await detectDrift(a, b)),
      renderContractHtml(await checkContract(b, { columns: { x: { max: 25 } } })),
    ];
    for (const html of pages) {
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(html).not.toMatch(/<script|<link|src="http|href="http/);
      expect(html).not.toContain("<b>");
    }
    expect(pages[0]).toContain("&lt;b&gt;");
    expect(pages[1]).toContain("<svg");
    expect(pages[1]).toContain('class="badge fail"');
    expect(pages[2]).toContain("row 3");
  });
});
