/**
 * The compare view in a real browser (headless Chromium via playwright-core) against `trainyard
 * ui` over a home with 500 real runs of a fixture that records per-epoch losses, a final accuracy
 * and a small search: the picker pages and renders only visible rows, picked runs land in a
 * deep link, the "only differences" toggle hides equal rows, each metric's best value (by its goal)
 * and final value are shown in labelled rows with the best run of each marked, curves and parallel
 * coordinates render, and runs ticked in the Runs list (by keyboard) open in the compare view.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { REPO } from "../engine/support.js";
import { requireTools } from "../support/require-tool.js";
import { openBrowser, screenshot, type UiBrowser } from "./support/browser.js";
import { callApi, expectNoExternalFetch } from "./support/flows.js";
import { startUiServer, type UiServer } from "./support/ui-server.js";

const EXPERIMENTS = path.join(REPO, "test", "fixtures", "experiments", "experiment-pipeline.ts");
const SEEDED = 497;

/** The fixture's validation loss per epoch, computed here from its definition. */
const valLoss = (lr: number, epochs: number) =>
  Array.from({ length: epochs }, (_, e) => Number(((1 - lr) ** (e + 1) + 0.02 * e * e).toFixed(6)));

const browserGate = requireTools("chromium");
// The machine is shared: allow the page time, never assert how long it took.
const poll = <T>(probe: () => Promise<T> | T) => expect.poll(probe, { timeout: 20_000 });

browserGate.describe("compare view in a real browser", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ty-ui-compare-"));
  const home = path.join(dir, "home");
  // Picked runs: by last value B's validation loss wins; by best value (an earlier epoch) A's does.
  const picked = [
    { lr: 0.5, epochs: 6, batch: 32 },
    { lr: 0.3, epochs: 3, batch: 32 },
    { lr: 0.2, epochs: 6, batch: 64 },
  ];
  const ids: string[] = [];
  let server: UiServer;
  let b: UiBrowser;

  beforeAll(async () => {
    const ty = await Trainyard.open({ home });
    for (let i = 0; i < SEEDED; i++) await ty.run(EXPERIMENTS, { params: { lr: 0.05 + (i % 40) / 100, epochs: 4 } });
    for (const params of picked) {
      const r = await ty.run(EXPERIMENTS, { params });
      expect(r.status).toBe("succeeded");
      ids.push(r.runId);
    }
    await ty.close();
    server = await startUiServer(home, [EXPERIMENTS]);
    b = await openBrowser();
  }, 180_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && b) await screenshot(b.page, "failed-compare").catch(() => undefined);
  });

  afterAll(async () => {
    await b?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  browserGate.it("pages through 500 runs in the picker, rendering only the visible rows", async () => {
    const { page } = b;
    await page.goto(`${server.url}/compare?pipeline=experiments`);
    const view = page.locator(".picker-view");
    await poll(() => page.locator(".picker-view [data-run]").count()).toBeGreaterThan(5);
    // Scrolling down fetches older pages until every run is loaded.
    await expect
      .poll(
        async () => {
          await view.evaluate((el) => el.scrollTo(0, el.scrollHeight));
          return Number(await page.locator("[data-loaded]").getAttribute("data-loaded"));
        },
        { timeout: 30_000 },
      )
      .toBe(SEEDED + picked.length);
    const rendered = await page.locator(".picker-view [data-run]").count();
    expect(rendered).toBeLessThan(40);
    const lastRow = await page.locator(".picker-view [data-run]").last().getAttribute("data-run");
    expect(lastRow).not.toBe(ids[ids.length - 1]);

    // Sorting by a metric puts the best run by its goal (lowest validation loss) first.
    type Page = { runs: Array<{ id: string; metrics: Record<string, number> }>; nextCursor?: string };
    const all: Page["runs"] = [];
    for (let cursor: string | undefined, more = true; more; more = cursor !== undefined) {
      const p = await callApi<Page>(
        server.url,
        "GET",
        `/pipelines/experiments/runs?limit=500${cursor ? `&cursor=${cursor}` : ""}`,
      );
      all.push(...p.runs);
      cursor = p.nextCursor;
    }
    expect(all).toHaveLength(SEEDED + picked.length);
    const lowest = Math.min(...all.map((r) => r.metrics["train.val_loss"]));
    await view.evaluate((el) => el.scrollTo(0, 0));
    await page.locator('.picker-head button[title^="sort by train.val_loss"]').click();
    const topValue = async () => {
      const top = await page.locator(".picker-view [data-run]").first().getAttribute("data-run");
      return all.find((r) => r.id === top)?.metrics["train.val_loss"];
    };
    await poll(topValue).toBe(lowest);
    await page.locator('.picker-head button[title^="sort by train.val_loss"]').click();
    // A param=value filter finds the one run with 3 epochs among 500.
    await page.locator('input[name="run-filter"]').fill("epochs=3");
    await poll(() => page.locator(".picker-view [data-run]").count()).toBe(1);
    expect(await page.locator(".picker-view [data-run]").getAttribute("data-run")).toBe(ids[1]);
    await page.locator('input[name="run-filter"]').fill("");
    await view.evaluate((el) => el.scrollTo(0, 0));
    await poll(() => page.locator(".picker-view [data-run]").first().getAttribute("data-run")).toBe(ids[2]);
  });

  browserGate.it("compares picked runs: differences toggle, the best value marked, curves and trials", async () => {
    const { page } = b;
    // The newest runs are the picked ones: tick them in the picker.
    for (const id of [...ids].reverse()) await page.locator(`[data-run="${id}"] input[type=checkbox]`).check();
    await poll(() => new URL(page.url()).searchParams.get("runs")?.split(",").sort()).toEqual([...ids].sort());
    const table = page.locator(".compare-table");
    // A row label column and one column per picked run.
    await poll(() => table.locator("thead th").count()).toBe(1 + picked.length);

    const columnOf = async (id: string) => {
      const heads = await table.locator("thead th").evaluateAll((ths) => ths.map((th) => th.getAttribute("title")));
      return heads.indexOf(id);
    };
    const bestRunOf = async (key: string, measure: "best" | "final") => {
      const cells = table.locator(`tr[data-row="${key}"][data-measure="${measure}"] td`);
      const flags = await cells.evaluateAll((tds) => tds.map((td) => td.hasAttribute("data-best")));
      expect(flags.filter(Boolean)).toHaveLength(1);
      return flags.indexOf(true) + 1;
    };
    // val_loss: lower is better, judged on each run's best epoch, not its last.
    const curves = picked.map((p) => valLoss(p.lr, p.epochs));
    const bests = curves.map((c) => Math.min(...c));
    const lasts = curves.map((c) => c[c.length - 1]);
    const byBest = bests.indexOf(Math.min(...bests));
    const byLast = lasts.indexOf(Math.min(...lasts));
    expect(byBest).not.toBe(byLast);
    expect(await bestRunOf("train.val_loss", "best")).toBe(await columnOf(ids[byBest]));
    expect(await bestRunOf("train.val_loss", "final")).toBe(await columnOf(ids[byLast]));
    const bestCell = table.locator(`tr[data-row="train.val_loss"][data-measure="best"] td[data-best]`);
    const bestEpoch = curves[byBest].indexOf(bests[byBest]);
    await poll(() => bestCell.textContent()).toContain(`@${bestEpoch}`);
    // The same run's final value, in the final row: what `trainyard runs compare` prints too.
    const finalCell = table.locator(`tr[data-row="train.val_loss"][data-measure="final"] td`);
    const column = (await columnOf(ids[byBest])) - 1;
    const shownFinal = await finalCell.nth(column).textContent();
    expect(shownFinal).toContain(String(Number(lasts[byBest].toPrecision(4))));
    expect(shownFinal).toContain(`@${picked[byBest].epochs - 1}`);
    const labels = await table.locator('tr[data-row="train.val_loss"] th').allTextContents();
    expect(labels.map((l) => l.replace(/\s+/g, " ").trim())).toEqual([
      "metric train.val_loss best (lower is better)",
      "metric train.val_loss final (lower is better)",
    ]);
    // accuracy: higher is better (1 - last validation loss / 2).
    const accuracy = lasts.map((l) => 1 - l / 2);
    const byAccuracy = await columnOf(ids[accuracy.indexOf(Math.max(...accuracy))]);
    expect(await bestRunOf("train.accuracy", "final")).toBe(byAccuracy);

    // Only differences: equal rows (the team param and tag) go, differing ones stay.
    expect(await table.locator('tr[data-row="team"]').count()).toBe(2);
    await page.locator('input[name="only-differences"]').check();
    await poll(() => table.locator('tr[data-row="team"]').count()).toBe(0);
    expect(await table.locator('tr[data-row="lr"]').count()).toBe(1);
    expect(await table.locator('tr[data-differs="false"]').count()).toBe(0);
    expect(new URL(page.url()).searchParams.get("diff")).toBe("1");

    // Curves: one line per run and each run's best point circled.
    const chart = page.locator('.curve[data-metric="train.val_loss"]');
    expect(await chart.locator("polyline").count()).toBe(3);
    expect(await chart.locator("circle.chart-mark").count()).toBe(3);
    // Parallel coordinates: every trial of every picked run, the best one drawn as such.
    const trials = page.locator('[data-search="search"] polyline');
    expect(await trials.count()).toBe(6 * picked.length);
    expect(await page.locator('[data-search="search"] polyline[data-best]').count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, "compare");
    await chart.scrollIntoViewIfNeeded();
    await screenshot(page, "compare-curves-and-trials");

    // The URL is the comparison: opened afresh it shows the same, toggle included.
    const link = page.url();
    await page.goto(`${server.url}/`);
    await page.goto(link);
    await poll(() => table.locator("thead th").count()).toBe(1 + picked.length);
    expect(await page.locator('input[name="only-differences"]').isChecked()).toBe(true);
    expect(await table.locator('tr[data-row="team"]').count()).toBe(0);
    expectNoExternalFetch(b.external);
    expect(b.errors).toEqual([]);
  });

  browserGate.it("ticks runs in the Runs list by keyboard and opens them in the compare view", async () => {
    const { page } = b;
    await page.goto(`${server.url}/runs?pipeline=experiments`);
    const compare = page.getByTestId("compare-picked");
    await poll(() => page.locator(`tr[data-run="${ids[0]}"]`).count()).toBe(1);
    expect(await compare.getByRole("button", { name: "Compare (0)" }).isDisabled()).toBe(true);
    // Space ticks a focused checkbox; the link appears once two runs are ticked.
    for (const id of [ids[0], ids[2]]) {
      await page.getByRole("checkbox", { name: `tick run ${id} to compare` }).focus();
      await page.keyboard.press("Space");
    }
    const link = compare.getByRole("link", { name: "Compare (2)" });
    await poll(() => link.count()).toBe(1);
    // Unticking by keyboard takes a run out again, and ticking it back puts it in.
    await page.getByRole("checkbox", { name: `tick run ${ids[2]} to compare` }).focus();
    await page.keyboard.press("Space");
    await poll(() => compare.getByRole("button", { name: "Compare (1)" }).count()).toBe(1);
    await page.keyboard.press("Space");
    await link.focus();
    await page.keyboard.press("Enter");
    await poll(() => new URL(page.url()).pathname).toBe("/compare");
    const url = new URL(page.url());
    expect(url.searchParams.get("runs")?.split(",")).toEqual([ids[0], ids[2]]);
    expect(url.searchParams.get("pipeline")).toBe("experiments");
    const table = page.locator(".compare-table");
    await poll(() => table.locator("thead th").evaluateAll((ths) => ths.map((th) => th.getAttribute("title")))).toEqual(
      [null, ids[0], ids[2]],
    );
    await screenshot(page, "runs-list-compare");
    expect(b.errors).toEqual([]);
  });
});
