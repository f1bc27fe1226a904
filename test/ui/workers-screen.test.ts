/**
 * The Workers screen in a real browser (headless Chromium via playwright-core) against `trainyard ui`
 * on a cluster's config (Redis, PostgreSQL, a real `trainyard worker`): the worker's label and slots on
 * its queue, the step it runs now, the run id linking to the run page; and, on a home that runs steps
 * locally, the note that no queue executor is configured. The page's clock is Playwright's: the test
 * moves page time by the screen's refresh period where a case needs it, rather than waiting it out.
 */
import fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { WorkersOverview } from "../../src/distributed/queue-overview.js";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { waitFor } from "../api/support.js";
import { type Cluster, holdingPipeline, startCluster } from "../distributed/cluster.js";
import { requireTools } from "../support/require-tool.js";
import { openBrowser, screenshot, type UiBrowser } from "./support/browser.js";
import { expectNoExternalFetch } from "./support/flows.js";
import { startUiServer, type UiServer } from "./support/ui-server.js";

const gate = requireTools("chromium", "redis-server", "postgresql");
// The machine is shared: allow the page time, never assert how long it took.
const poll = <T>(probe: () => Promise<T> | T) => expect.poll(probe, { timeout: 20_000 });
/** The screen's refresh period (ui/src/screens/workers.tsx). */
const REFRESH_MS = 3000;

gate.describe("Workers screen", () => {
  const scratch = mkdtempSync(path.join(tmpdir(), "ty-ui-workers-"));
  let cluster: Cluster;
  let ty: Trainyard;
  let server: UiServer;
  let plain: UiServer;
  let b: UiBrowser;
  let running: Promise<unknown>;
  const release = path.join(scratch, "release");

  beforeAll(async () => {
    const uiHome = path.join(scratch, "ui-home");
    const plainHome = path.join(scratch, "plain-home");
    fs.mkdirSync(uiHome);
    fs.mkdirSync(plainHome);
    // What does not need the cluster starts alongside it.
    [cluster, plain, b] = await Promise.all([
      startCluster({ queue: "redis", store: "fs" }),
      startUiServer(plainHome, []),
      openBrowser(),
    ]);
    // Page time runs as real time does, until a case holds it to move the screen's refresh timer itself.
    await b.page.clock.install();
    const marks = path.join(scratch, "marks");
    const pipelineFile = path.join(cluster.dir, "held.ts");
    fs.writeFileSync(pipelineFile, holdingPipeline("held", "cpu", marks, release));
    [, ty, server] = await Promise.all([
      cluster.startWorker("cpu-a", { queues: ["cpu"], concurrency: 2 }),
      cluster.orchestrator(),
      startUiServer(uiHome, [], ["--config", cluster.config], cluster.cliEnv(uiHome)),
    ]);
    running = ty.run(pipelineFile, {});
    await waitFor("the held step to start on the worker", async () => fs.existsSync(marks) || undefined, 60_000);
  }, 120_000);

  /** The overview as the server gives it now (the page shows it on its next refresh). */
  const served = async () => (await fetch(`${server.url}/api/v1/workers`)).json() as Promise<WorkersOverview>;

  /** Holds page time still (timers fire only when the case moves it) until `page.clock.resume()`. */
  const holdPageTime = async () => {
    const pageNow = (await b.page.evaluate("Date.now()")) as number;
    await b.page.clock.pauseAt(pageNow + 500);
  };

  /**
   * Lets anything that moving page time set off reach the network (React renders, then asks): with page
   * time moved at once, a request due is sent within moments, not a refresh period later.
   */
  const settle = () => new Promise((r) => setTimeout(r, 500));

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail" && b) await screenshot(b.page, "failed-workers").catch(() => undefined);
  });

  afterAll(async () => {
    fs.writeFileSync(release, "");
    await running?.catch(() => undefined);
    await b?.close();
    await Promise.all([server?.stop(), plain?.stop()]);
    await ty?.close();
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  gate.it("shows the worker and its slots on its queue and the step it runs; the run id opens the run", async () => {
    const { page } = b;
    await page.goto(server.url + "/");
    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Workers" }).click();
    await poll(() => new URL(page.url()).pathname).toBe("/workers");
    const cpu = page.getByRole("region", { name: "queue cpu" });
    await cpu.waitFor();
    expect(await page.getByRole("heading", { level: 2 }).allTextContents()).toContain("queue cpu");

    const workers = cpu.getByTestId("queue-workers");
    expect(await workers.getByRole("columnheader").allTextContents()).toEqual([
      "worker",
      "slots",
      "address",
      "connected",
    ]);
    const workerRow = await workers
      .locator("tbody tr")
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    expect(workerRow).toHaveLength(1);
    expect(workerRow[0].slice(0, 2)).toEqual([`${hostname()}/cpu-a`, "2"]);
    expect(workerRow[0][2]).toMatch(/^127\.0\.0\.1:\d+$/);

    const tasks = cpu.getByTestId("queue-running");
    expect(await tasks.getByRole("columnheader").allTextContents()).toEqual([
      "run",
      "step",
      "worker",
      "claimed",
      "last heartbeat",
      "state",
    ]);
    const taskRows = await tasks
      .locator("tbody tr")
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    expect(taskRows).toHaveLength(1);
    const [runId, step, worker, , , state] = taskRows[0];
    expect([step, worker, state]).toEqual(["hold", `${hostname()}/cpu-a`, "ok"]);
    expect((await ty.metadata.getRun(runId))?.pipeline).toBe("held");
    expect(await page.getByTestId("workers-problem").count()).toBe(0);
    await screenshot(page, "workers");

    await tasks.getByRole("link", { name: runId }).click();
    await poll(() => new URL(page.url()).pathname).toBe(`/runs/${runId}`);
    await poll(() => page.locator("#run-h").textContent()).toContain(runId);
    expect(b.errors).toEqual([]);
    expectNoExternalFetch(b.external);
  });

  gate.it("marks the running task as possibly lost once its worker stops answering", async () => {
    const { page } = b;
    await page.goto(server.url + "/workers");
    const tasks = page.getByRole("region", { name: "queue cpu" }).getByTestId("queue-running");
    await poll(() => tasks.locator("tbody tr td:last-child").allTextContents()).toEqual(["ok"]);
    // Stopped as a hung machine would be: its heartbeats cease, the open screen shows it on its next refresh.
    const worker = cluster.workers.find((w) => w.id === "cpu-a")!;
    await holdPageTime();
    worker.child.kill("SIGSTOP");
    try {
      const heldTask = async () => (await served()).queues.find((q) => q.queue === "cpu")?.running[0];
      await poll(async () => (await heldTask())?.possiblyLost).toBe(true);
      // The server says so now; the screen, not yet refreshed, does not.
      expect(await tasks.locator("tbody tr td:last-child").allTextContents()).toEqual(["ok"]);
      await page.clock.runFor(REFRESH_MS);
      await poll(() => tasks.locator("tbody tr td:last-child").allTextContents()).toEqual(["possibly lost"]);
      expect(await tasks.locator(".badge.s-possibly-lost").count()).toBe(1);
    } finally {
      worker.child.kill("SIGCONT");
      await page.clock.resume();
    }
  });

  gate.it("asks again each period while shown, not while the tab is hidden nor once the screen is left", async () => {
    const { page } = b;
    let asked = 0;
    const count = (r: { url(): string }) => {
      if (new URL(r.url()).pathname === "/api/v1/workers") asked++;
    };
    page.on("request", count);
    try {
      await page.goto(server.url + "/workers");
      await page.getByRole("region", { name: "queue cpu" }).waitFor();
      await holdPageTime();
      await settle();
      const shown = asked;
      expect(shown).toBeGreaterThan(0);
      // One period of page time, one more ask, and only one.
      await page.clock.runFor(REFRESH_MS);
      await poll(() => asked).toBe(shown + 1);
      await settle();
      expect(asked).toBe(shown + 1);
      // The page's own visibility, as a browser reports it for a background tab.
      const setHidden = (hidden: boolean) =>
        page.evaluate(
          `Object.defineProperty(document, "hidden", { configurable: true, get: () => ${hidden} });` +
            `document.dispatchEvent(new Event("visibilitychange"));`,
        );
      await setHidden(true);
      await page.clock.runFor(3 * REFRESH_MS);
      await settle();
      expect(asked).toBe(shown + 1);
      // Shown again, it asks at once rather than after a period, and keeps asking.
      await setHidden(false);
      await poll(() => asked).toBe(shown + 2);
      await page.clock.runFor(REFRESH_MS);
      await poll(() => asked).toBe(shown + 3);
      await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Runs" }).click();
      await poll(() => new URL(page.url()).pathname).toBe("/runs");
      await page.clock.runFor(3 * REFRESH_MS);
      await settle();
      expect(asked).toBe(shown + 3);
    } finally {
      page.off("request", count);
      await page.clock.resume();
    }
  });

  gate.it("says that no queue executor is configured on a home that runs steps locally", async () => {
    const { page } = b;
    await page.goto(plain.url + "/workers");
    const note = page.getByTestId("no-queue-executor");
    await note.waitFor();
    expect(await note.textContent()).toContain("Steps run on this machine; no queue executor is configured.");
    expect(await note.textContent()).toMatch(/executor: \{ kind: "queue"/);
    expect(await page.getByTestId("queue").count()).toBe(0);
    expect(b.errors).toEqual([]);
  });

  gate.it("warns, without a reload, of a queue whose task waits and that no worker takes from", async () => {
    const { page } = b;
    await page.goto(server.url + "/workers");
    await page.getByRole("region", { name: "queue cpu" }).waitFor();
    expect(await page.getByTestId("workers-problem").count()).toBe(0);
    const file = path.join(cluster.dir, "orphaned.ts");
    const marks = path.join(scratch, "orphaned.marks");
    fs.writeFileSync(file, holdingPipeline("orphaned", "orphan", marks, release));
    await holdPageTime();
    const abort = new AbortController();
    const orphaned = ty.run(file, { signal: abort.signal }).catch((e: unknown) => e);
    try {
      await poll(async () => (await served()).queues.find((q) => q.queue === "orphan")?.counts.waiting).toBe(1);
      // The open screen asks again by itself, on its next refresh: the warning and the queue appear on the same page.
      const problem = page.getByTestId("workers-problem");
      expect(await problem.count()).toBe(0);
      await page.clock.runFor(REFRESH_MS);
      await problem.waitFor({ timeout: 20_000 });
      expect(await problem.textContent()).toContain('queue "orphan" has 1 waiting task(s) and no worker');
      expect(await problem.locator(".hint code").textContent()).toBe("trainyard worker --queue orphan");
      const orphan = page.getByRole("region", { name: "queue orphan" });
      expect(await orphan.getByTestId("queue-counts").textContent()).toMatch(/waiting 1 .* 0 worker\(s\), 0 slot/);
      expect(fs.existsSync(marks)).toBe(false);
      // A warning is the error box in the warning colours.
      const box = await problem.evaluate((el) => {
        // The test's types know no DOM: the page's globals, as the page has them.
        const page = globalThis as any;
        const css = page.getComputedStyle(el);
        const probe = page.document.createElement("div");
        probe.style.color = "var(--warn)";
        page.document.body.append(probe);
        const warnColor: string = page.getComputedStyle(probe).color;
        probe.remove();
        return {
          border: css.borderTopColor as string,
          warnColor,
          padding: css.padding,
          radius: css.borderTopLeftRadius,
        };
      });
      expect(box).toEqual({ border: box.warnColor, warnColor: box.warnColor, padding: "10px 12px", radius: "8px" });
      await screenshot(page, "workers-unattended");
    } finally {
      abort.abort(new Error("test over"));
      await orphaned;
      await page.clock.resume();
    }
  });
});
