/**
 * The web UI in a real browser (Debian's Chromium, headless, driven by playwright-core) against
 * `trainyard ui` serving a real home: the flagship launched from the form and watched live, a
 * failed step's log and error, a rejected run's gate verdicts, promote and rollback with a
 * reason, a paused schedule's skipped tick, a drift report. Screenshots of each main screen go
 * to test-output/screenshots/. Nothing may be fetched from outside loopback.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { REPO } from "../engine/support.js";
import { requireTools } from "../support/require-tool.js";
import { FAST, startDaemon, type DaemonProcess } from "../daemon/support.js";
import { openBrowser, screenshot, type UiBrowser } from "./support/browser.js";
import { callApi, expectNoExternalFetch, fillParam, nodeStates, waitForRunEnd } from "./support/flows.js";
import { startUiServer, type UiServer } from "./support/ui-server.js";

const FLAGSHIP = path.join(REPO, "examples", "flight-delays", "pipeline.ts");
const UI_CHECKS = path.join(REPO, "test", "fixtures", "ui", "ui-checks.ts");

const browserGate = requireTools("chromium");

browserGate.describe("web UI in a real browser", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ty-ui-"));
  const home = path.join(dir, "home");
  const landing = path.join(dir, "landing");
  // The flagship on small samples (as its own test runs it), so the suite stays within minutes.
  const small: Record<string, string> = {
    landing,
    trainSample: "0.05",
    evalSample: "0.1",
    searchRows: "20000",
    rounds: "20",
    aucFloor: "0.55",
    maxTprGap: "0.6",
    maxP99Ms: "100",
  };
  const smallParams = () =>
    Object.fromEntries(Object.entries(small).map(([k, v]) => [k, k === "landing" ? v : Number(v)]));
  let server: UiServer;
  let b: UiBrowser;

  beforeAll(async () => {
    const landed = spawnSync(
      process.execPath,
      ["examples/flight-delays/land-data.mjs", "--through", "3", "--landing", landing],
      { cwd: REPO, encoding: "utf8" },
    );
    expect(landed.status, landed.stderr).toBe(0);
    server = await startUiServer(home, [FLAGSHIP, UI_CHECKS]);
    b = await openBrowser();
  }, 120_000);

  // What the page showed when a test failed, for the review.
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && b) {
      await screenshot(b.page, `failed-${ctx.task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, "-")}`).catch(
        () => undefined,
      );
    }
  });

  afterAll(async () => {
    await b?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  browserGate.it(
    "launches the flagship (dev profile) from the form and watches every step go green live",
    async () => {
      const { page } = b;
      await page.goto(`${server.url}/launch/flight-delays`);
      await page.locator('select[name="profile"]').selectOption("dev");
      // The profile's values fill the form; a wrong value is caught before anything is sent.
      await expect.poll(() => page.locator('[name="rounds"]').inputValue()).toBe("30");
      await fillParam(page, "rounds", "many");
      await page.getByRole("button", { name: "Launch run" }).click();
      await expect.poll(() => page.getByRole("alert").first().textContent()).toMatch(/rounds: must be a number/);
      expect(new URL(page.url()).pathname).toBe("/launch/flight-delays");
      for (const [k, v] of Object.entries(small)) await fillParam(page, k, v);

      await page.getByRole("button", { name: "Preview plan" }).click();
      const plan = page.getByTestId("plan");
      await plan.waitFor();
      expect(await plan.textContent()).toMatch(/train/);
      await screenshot(page, "launch");

      await page.getByRole("button", { name: "Launch run" }).click();
      await page.waitForURL(/\/runs\/[^/]+$/);
      await page.locator(".react-flow__node").first().waitFor({ timeout: 60_000 });

      // Watch the nodes: a state change must arrive while the page stays loaded (no reloads).
      let navigations = 0;
      page.on("framenavigated", () => navigations++);
      const seen = new Map<string, Set<string>>();
      const deadline = Date.now() + 150_000;
      let states: Record<string, string> = {};
      for (;;) {
        states = await nodeStates(page);
        for (const [id, s] of Object.entries(states)) seen.set(id, (seen.get(id) ?? new Set()).add(s));
        const done = Object.values(states).length > 0 && Object.values(states).every((s) => s === "succeeded");
        if (done || Date.now() > deadline) break;
        await page.waitForTimeout(100);
      }
      expect(Object.keys(states).length).toBeGreaterThanOrEqual(15);
      expect(states, "every step green").toEqual(Object.fromEntries(Object.keys(states).map((k) => [k, "succeeded"])));
      // Live, not a final reload: steps were seen running or pending first, on the same page load.
      const sawProgress = [...seen.values()].filter((s) => s.has("running") || s.has("pending")).length;
      expect(sawProgress).toBeGreaterThan(5);
      expect(navigations).toBe(0);
      await expect.poll(() => page.getByTestId("run-summary").textContent(), { timeout: 15_000 }).toMatch(/succeeded/);
      await screenshot(page, "run-graph");
      await page.getByRole("tab", { name: "timeline" }).click();
      await screenshot(page, "run-timeline");
    },
    200_000,
  );

  browserGate.it(
    "opens a failed step's log and error with its hint; a log line has its own link",
    async () => {
      const { page } = b;
      await page.goto(`${server.url}/launch/ui-checks`);
      await fillParam(page, "fail", "true");
      await page.getByRole("button", { name: "Launch run" }).click();
      await page.waitForURL(/\/runs\/[^/]+$/);
      const runId = decodeURIComponent(new URL(page.url()).pathname.split("/")[2]);
      await expect.poll(() => page.getByTestId("run-summary").textContent(), { timeout: 60_000 }).toMatch(/failed/);

      await page.getByRole("tab", { name: "list" }).click();
      await page.getByRole("link", { name: "train", exact: true }).click();
      const panel = page.getByTestId("step-panel");
      await expect.poll(() => panel.textContent()).toMatch(/TRAINING_DIVERGED/);
      expect(await panel.textContent()).toMatch(/lower the learning rate or clip gradients/);
      await page.getByRole("tab", { name: "logs" }).click();
      const log = page.getByTestId("step-log");
      await expect.poll(() => log.textContent()).toMatch(/loss became NaN at epoch 3/);
      await screenshot(page, "run-failed-step");

      // A log line's link survives a reload (deep link), and back returns to the step. The step's
      // own line comes first; the log then ends with the attempt's error, which repeats the message.
      const lineLink = log.locator(".line", { hasText: "loss became NaN" }).first().locator("a");
      const href = await lineLink.getAttribute("href");
      expect(href).toMatch(new RegExp(`/runs/${runId}/steps/train\\?.*#L\\d+`));
      await page.goto(`${server.url}${href}`);
      await expect.poll(() => page.locator(".line.target").textContent()).toMatch(/loss became NaN/);
      await page.goBack();
      expect(page.url()).toMatch(/\/steps\/train\?/);
    },
    90_000,
  );

  browserGate.it(
    "shows a rejected run's gate verdicts",
    async () => {
      const { page } = b;
      const launched = await callApi<{ runId: string }>(server.url, "POST", "/runs", {
        pipeline: "flight-delays",
        profile: "dev",
        params: { ...smallParams(), aucFloor: 0.99 },
      });
      expect(await waitForRunEnd(server.url, launched.runId)).toBe("rejected");
      await page.goto(`${server.url}/runs/${launched.runId}`);
      const verdicts = page.getByTestId("gate-verdicts");
      await verdicts.waitFor();
      const text = await verdicts.textContent();
      expect(text).toMatch(/fail/);
      expect(text).toMatch(/0\.99/);
      await expect.poll(() => page.locator(".react-flow__node").count()).toBeGreaterThan(10);
      expect((await nodeStates(page)).deploy).toBe("skipped");
      await screenshot(page, "run-rejected");
    },
    120_000,
  );

  browserGate.it(
    "promotes and rolls back a model with a reason and shows the alias history",
    async () => {
      const { page } = b;
      const second = await callApi<{ runId: string }>(server.url, "POST", "/runs", {
        pipeline: "flight-delays",
        profile: "dev",
        params: { ...smallParams(), rounds: 21 },
      });
      expect(await waitForRunEnd(server.url, second.runId)).toBe("succeeded");
      await page.goto(`${server.url}/models/flight-delays`);
      const versions = page.getByTestId("versions");
      await expect.poll(() => versions.locator("tbody tr").count()).toBe(2);

      await page.locator('input[name="alias"]').fill("production");
      await page.locator('input[name="reason"]').fill("v2 loses calibration on the canary");
      await page.getByRole("button", { name: "Roll back" }).click();
      const history = page.getByTestId("alias-history");
      await expect
        .poll(() => history.locator("tbody tr").first().textContent())
        .toMatch(/rollback.*v2 → v1.*v2 loses calibration on the canary.*pinned/);

      await page.locator('select[name="version"]').selectOption("2");
      await page.locator('input[name="reason"]').fill("calibration fixed upstream");
      await page.getByRole("button", { name: "Promote" }).click();
      await expect
        .poll(() => history.locator("tbody tr").first().textContent())
        .toMatch(/set.*v1 → v2.*calibration fixed upstream/);
      await screenshot(page, "models");

      await page.getByTestId("versions").getByRole("link", { name: "v2", exact: true }).click();
      const lineage = page.getByTestId("lineage-graph");
      await lineage.locator(".react-flow__node").first().waitFor();
      const boxes = await lineage.locator(".react-flow__node").allTextContents();
      expect(boxes.join(" | ")).toMatch(/train.*step/);
      // Back to the landed partitions the months were read from.
      expect(boxes.filter((t) => /landed$/.test(t)).length).toBeGreaterThan(0);
      await screenshot(page, "model-version");
    },
    120_000,
  );

  browserGate.it(
    "opens a drift report with overlaid histograms and PSI/KS per column",
    async () => {
      const { page } = b;
      await page.goto(`${server.url}/data?kind=drift`);
      const list = page.getByTestId("data-reports");
      await list.waitFor();
      await list.locator("tbody tr").first().getByRole("link").first().click();
      const report = page.getByTestId("drift-report");
      await report.waitFor();
      expect(await report.textContent()).toMatch(/PSI/);
      expect(await report.locator('[data-stat="psi"]').count()).toBeGreaterThan(0);
      expect(await report.locator('svg[aria-label$="reference vs current"]').count()).toBeGreaterThan(0);
      await screenshot(page, "data-drift");
    },
    60_000,
  );

  browserGate.it(
    "pauses a schedule and shows the skipped tick, with times in their time zone",
    async () => {
      const { page } = b;
      let daemon: DaemonProcess | undefined;
      try {
        daemon = startDaemon(home, [UI_CHECKS, ...FAST]);
        await page.goto(`${server.url}/triggers/ui-checks/every-2s`);
        const ticks = page.getByTestId("ticks");
        await expect.poll(() => ticks.textContent().catch(() => ""), { timeout: 60_000 }).toMatch(/ran/);
        await page.getByRole("button", { name: "Pause" }).click();
        await expect.poll(() => ticks.textContent(), { timeout: 30_000 }).toMatch(/skipped: paused/);
        // Every time carries its zone's name (the schedule's own zone where the API gives it).
        expect(await ticks.locator("tbody tr").first().locator("time").first().textContent()).toMatch(
          /\d{2}:\d{2}:\d{2} (UTC|GMT|CET)/,
        );
        await screenshot(page, "triggers");
        await page.getByRole("button", { name: "Unpause" }).click();
      } finally {
        daemon?.child.kill("SIGTERM");
        await daemon?.exited;
      }
    },
    90_000,
  );

  browserGate.it(
    "renders the overview and every screen from loopback only, in light and dark, by keyboard",
    async () => {
      const { page } = b;
      await page.goto(server.url);
      await page.getByRole("heading", { name: "flight-delays" }).waitFor();
      // The flagship's grid: its three runs by its steps, each cell a link to that step of that run.
      const grid = page.getByRole("table", { name: "flight-delays: runs by steps" });
      // The machine is shared: allow the grid's request time, never assert how long it took.
      await expect.poll(() => grid.locator("td a.cell").count(), { timeout: 20_000 }).toBeGreaterThan(3 * 15);
      await screenshot(page, "overview");
      await page.goto(`${server.url}/serving`);
      await screenshot(page, "serving");

      // Keyboard: the skip link, then the navigation, reach a screen without a mouse.
      await page.goto(server.url);
      await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Runs" }).waitFor();
      // Tab from the top of the page to the Runs link (the skip link and Overview come first).
      const focused = async () => String(await page.evaluate(`document.activeElement?.textContent?.trim() ?? ""`));
      const order: string[] = [];
      for (let i = 0; i < 6 && (order.at(-1) ?? "") !== "Runs"; i++) {
        await page.keyboard.press("Tab");
        order.push(await focused());
      }
      expect(order.slice(0, 3)).toEqual(["Skip to content", "Overview", "Runs"]);
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/runs$/);
      await page.goBack();
      expect(new URL(page.url()).pathname).toBe("/");

      const dark = await openBrowser({ colorScheme: "dark" });
      try {
        await dark.page.goto(server.url);
        const bg = await dark.page
          .locator("body")
          .evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).backgroundColor);
        expect(bg).toBe("rgb(17, 19, 24)");
        await screenshot(dark.page, "overview-dark");
        expectNoExternalFetch(dark.external);
      } finally {
        await dark.close();
      }
      expectNoExternalFetch(b.external);
      expect(b.errors).toEqual([]);
    },
    60_000,
  );
});
