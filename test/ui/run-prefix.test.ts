/**
 * Pages opened at a run-id prefix that two runs share, in a real browser (headless Chromium via
 * playwright-core) against `trainyard ui` over a real home: the run page lists the matches in a
 * table whose ids link to their runs, with a hint to use the full id, both when the address is
 * opened directly and when the page is reached in-page (the back button); the compare view and a
 * data report list them alike, each linking to the same page for that run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { API_FIXTURE } from "../api/support.js";
import { REPO } from "../engine/support.js";
import { requireTools } from "../support/require-tool.js";
import { openBrowser, screenshot, type UiBrowser } from "./support/browser.js";
import { expectNoExternalFetch } from "./support/flows.js";
import { startUiServer, type UiServer } from "./support/ui-server.js";

const PIPELINE = path.join(REPO, "test", "fixtures", "engine", "cli-pipeline.ts");

const browserGate = requireTools("chromium");
// The machine is shared: allow the page time, never assert how long it took.
const poll = <T>(probe: () => Promise<T> | T) => expect.poll(probe, { timeout: 20_000 });

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

browserGate.describe("run page at an ambiguous run-id prefix", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ty-ui-prefix-"));
  const home = path.join(dir, "home");
  // Engine-made ids (date, time, random part): two runs made together share at least the date.
  let older: string;
  let newer: string;
  let prefix: string;
  // Runs with a drift report, their ids fixed so that they share a prefix no other run has.
  const reportRuns = ["drift-7a1", "drift-7b2"];
  const reportPrefix = "drift-7";
  let server: UiServer;
  let b: UiBrowser;

  beforeAll(async () => {
    const ty = await Trainyard.open({ home });
    older = (await ty.run(PIPELINE)).runId;
    newer = (await ty.run(PIPELINE, { params: { n: 3 } })).runId;
    await ty.run(API_FIXTURE, { runId: reportRuns[0] });
    await ty.run(API_FIXTURE, { runId: reportRuns[1], profile: "drifted" });
    await ty.close();
    prefix = commonPrefix(older, newer);
    server = await startUiServer(home, [PIPELINE, API_FIXTURE]);
    b = await openBrowser();
  }, 120_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && b) await screenshot(b.page, "failed-run-prefix").catch(() => undefined);
  });

  afterAll(async () => {
    await b?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The matches table's rows as [run, pipeline, started, status] texts. */
  const rows = (page: UiBrowser["page"]) =>
    page
      .getByTestId("ambiguous-run")
      .locator("tbody tr")
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));

  browserGate.it("lists the matches, each id a link to its run page; the back button lists them again", async () => {
    expect(prefix.length).toBeGreaterThan(0);
    const { page } = b;
    await page.goto(`${server.url}/runs/${prefix}`);
    const choice = page.getByTestId("ambiguous-run");
    await choice.waitFor();
    await poll(() => choice.getByRole("heading", { level: 1 }).textContent()).toBe(
      `Run id prefix ${prefix} matches 2 runs`,
    );
    // Headers name the columns; the newest run comes first.
    expect(await choice.getByRole("columnheader").allTextContents()).toEqual(["run", "pipeline", "started", "status"]);
    const listed = await rows(page);
    expect(listed.map((r) => [r[0], r[1], r[3]])).toEqual([
      [newer, "cli-demo", "succeeded"],
      [older, "cli-demo", "succeeded"],
    ]);
    for (const r of listed) expect(r[2]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /);
    // The bold part is one character past the shared prefix: the fewest that name each run alone.
    expect(await choice.locator("tbody a strong").allTextContents()).toEqual([
      newer.slice(0, prefix.length + 1),
      older.slice(0, prefix.length + 1),
    ]);
    expect(await choice.locator(".hint").textContent()).toMatch(/full id/);
    // Not the generic load failure.
    expect(await page.getByText(/Could not load run/).count()).toBe(0);
    await screenshot(page, "run-prefix-ambiguous");

    await choice.getByRole("link", { name: older, exact: true }).click();
    await page.waitForURL(`${server.url}/runs/${older}`);
    await poll(() => page.getByTestId("run-summary").textContent()).toContain(older);
    expect(await page.getByTestId("ambiguous-run").count()).toBe(0);

    // In-page this time: the page asks the API itself rather than taking index.html's early answer.
    await page.goBack();
    await poll(() => page.getByTestId("ambiguous-run").getByRole("link").allTextContents()).toEqual([newer, older]);
    expect(b.errors).toEqual([]);
    expectNoExternalFetch(b.external);
  });

  browserGate.it("a step's address at the prefix links to that step of each run", async () => {
    const { page } = b;
    await page.goto(`${server.url}/runs/${prefix}/steps/count`);
    const link = page.getByTestId("ambiguous-run").getByRole("link", { name: newer, exact: true });
    expect(await link.getAttribute("href")).toBe(`/runs/${newer}/steps/count`);
    await link.click();
    await page.waitForURL(`${server.url}/runs/${newer}/steps/count`);
    await poll(() => page.getByTestId("run-summary").textContent()).toContain(newer);
  });

  browserGate.it(
    "the compare view lists the matches of a prefix, each linking to the comparison with that run",
    async () => {
      const { page } = b;
      await page.goto(`${server.url}/compare?runs=${prefix},${older}`);
      const choice = page.getByTestId("ambiguous-run");
      await poll(() => choice.getByRole("heading", { level: 2 }).textContent()).toBe(
        `Run id prefix ${prefix} matches 2 runs`,
      );
      expect(await page.getByRole("alert").count()).toBe(0);
      const link = choice.getByRole("link", { name: newer, exact: true });
      expect(await link.getAttribute("href")).toBe(`/compare?runs=${encodeURIComponent(`${newer},${older}`)}`);
      expect(await choice.getByRole("link", { name: older, exact: true }).getAttribute("href")).toBe(
        `/compare?runs=${encodeURIComponent(`${older},${older}`)}`,
      );
      await link.click();
      await poll(() => new URL(page.url()).searchParams.get("runs")).toBe(`${newer},${older}`);
      const table = page.getByRole("region", { name: "Params and metrics" });
      await poll(() => table.locator("thead").textContent()).toContain(newer.slice(-6));
      expect(await table.locator("thead").textContent()).toContain(older.slice(-6));
      expect(await page.getByTestId("ambiguous-run").count()).toBe(0);
      expect(b.errors).toEqual([]);
    },
  );

  browserGate.it("a data report at a prefix lists the matches, each linking to that run's report", async () => {
    const { page } = b;
    await page.goto(`${server.url}/data/reports/${reportPrefix}/drift/0`);
    const choice = page.getByTestId("ambiguous-run");
    await poll(() => choice.getByRole("heading", { level: 1 }).textContent()).toBe(
      `Run id prefix ${reportPrefix} matches 2 runs`,
    );
    expect(await page.getByText(/Could not load the report/).count()).toBe(0);
    const newest = choice.getByRole("link", { name: reportRuns[1], exact: true });
    expect(await choice.getByRole("link").allTextContents()).toEqual([...reportRuns].reverse());
    expect(await newest.getAttribute("href")).toBe(`/data/reports/${reportRuns[1]}/drift/0`);
    await screenshot(page, "data-report-prefix-ambiguous");
    await newest.click();
    await page.waitForURL(`${server.url}/data/reports/${reportRuns[1]}/drift/0`);
    await page.getByTestId("drift-report").waitFor();
    expect(await page.locator("h1").textContent()).toBe("drift report: drift");
    expect(await page.getByRole("link", { name: reportRuns[1], exact: true }).count()).toBe(1);
    expect(b.errors).toEqual([]);
  });
});
