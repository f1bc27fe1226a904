/**
 * The run page of a large run in a real browser: one request, sent by index.html before the UI's
 * code loads, brings the run and its ranked graph; the ranked placement is painted (as Chromium's
 * Element Timing reports it) before ELK's arrives from its worker; React Flow renders only the nodes
 * in view, from the first render on (never every node once to measure it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { REPO } from "../engine/support.js";
import { requireTools } from "../support/require-tool.js";
import { openBrowser, screenshot, type UiBrowser } from "./support/browser.js";
import { startUiServer, type UiServer } from "./support/ui-server.js";

const STEPS = 300;
const WIDTH = 20;

function wideModule(): string {
  return [
    'import { pipeline } from "trainyard";',
    'const p = pipeline("wide-ui", {});',
    "const s: any[] = [];",
    `for (let i = 0; i < ${STEPS}; i++) {`,
    `  const layer = Math.floor(i / ${WIDTH});`,
    `  const up: Record<string, any> = layer === 0 ? {} : { a: s[(layer - 1) * ${WIDTH} + (i % ${WIDTH})] };`,
    '  s.push(p.step(`w${String(i).padStart(3, "0")}`, { inputs: up, run: () => i }));',
    "}",
    "export default p;",
  ].join("\n");
}

// Every step node React Flow ever puts in the page, by the layout that placed it (distinct ids: a node
// inside an added subtree is seen once per mutation record that holds it).
const WATCH_NODES = `window.__nodesAdded = {};
new MutationObserver((ms) => {
  const layout = document.querySelector(".dag")?.getAttribute("data-layout") ?? "none";
  const ids = (window.__nodesAdded[layout] ??= new Set());
  for (const m of ms) for (const n of m.addedNodes) {
    if (n.nodeType !== 1) continue;
    if (n.matches(".react-flow__node")) ids.add(n.getAttribute("data-id"));
    for (const c of n.querySelectorAll(".react-flow__node")) ids.add(c.getAttribute("data-id"));
  }
}).observe(document, { subtree: true, childList: true });
// The graph's layout source each time it changes, with the step nodes on screen at that moment.
window.__layouts = [];
new MutationObserver(() => {
  const dag = document.querySelector(".dag");
  const source = dag?.getAttribute("data-layout");
  const last = window.__layouts[window.__layouts.length - 1];
  const nodes = document.querySelectorAll(".react-flow__node").length;
  const changed = !last || last.source !== source || (last.nodes === 0 && nodes > 0);
  if (source && changed) window.__layouts.push({ source, nodes });
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-layout"] });
// First paints of named elements (a step node's name says which layout placed it).
window.__painted = [];
new PerformanceObserver((l) => l.getEntries().forEach((e) =>
  window.__painted.push({ id: e.identifier, at: e.renderTime })))
  .observe({ type: "element", buffered: true });`;

const browserGate = requireTools("chromium");

browserGate.describe("run page of a large run", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ty-ui-large-"));
  const home = path.join(dir, "home");
  const modulePath = path.join(dir, "wide-ui.ts");
  let server: UiServer;
  let b: UiBrowser;
  let runId = "";

  beforeAll(async () => {
    writeFileSync(modulePath, wideModule());
    const ran = spawnSync(process.execPath, ["bin/trainyard.js", "run", modulePath, "--json", "--concurrency", "4"], {
      cwd: REPO,
      env: { ...process.env, TRAINYARD_HOME: home },
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    expect(ran.status, ran.stderr.slice(-2000)).toBe(0);
    runId = JSON.parse(ran.stdout).runId;
    server = await startUiServer(home, [modulePath]);
    b = await openBrowser();
  }, 240_000);

  afterAll(async () => {
    await b?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  browserGate.it(
    "draws the run and the nodes in view from one request, laid out off the main thread",
    async () => {
      const { page } = b;
      const asked: string[] = [];
      // Who asked for each request: the page's own inline script, or the UI's bundle (Chromium's initiator).
      const initiatedBy = new Map<string, string>();
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Network.enable");
      cdp.on("Network.requestWillBeSent", (e) => {
        const path = new URL(e.request.url).pathname;
        const frame = e.initiator.stack?.callFrames[0]?.url ?? e.initiator.url ?? e.initiator.type;
        if (!initiatedBy.has(path)) initiatedBy.set(path, new URL(frame, server.url).pathname);
      });
      page.on("request", (r) => {
        const u = new URL(r.url());
        if (u.pathname.startsWith("/api/v1/")) asked.push(u.pathname + u.search);
      });
      await page.addInitScript({ content: WATCH_NODES });
      await page.goto(`${server.url}/runs/${runId}`);
      await page.getByTestId("run-summary").waitFor();
      await page.locator(".react-flow__node").first().waitFor();
      await expect.poll(() => page.getByTestId("step-counts").textContent()).toContain(String(STEPS));

      // The shell's own calls (server info, health) aside, the run page asked once, not detail then graph.
      const firstLoad = asked.filter((p) => /^\/api\/v1\/(runs|pipelines)\//.test(p) && !p.endsWith("/events"));
      // (A live reload of the same overview, without the graph, may follow; never the detail or the graph.)
      expect([...new Set(firstLoad)], asked.join(", ")).toEqual([`/api/v1/runs/${runId}/overview`]);
      // index.html's own script asked for it, and for the graph view's code (listed by the build), while
      // the UI's bundle loaded: not the bundle's code, which asks only once it has arrived and run.
      const byPage = (test: (path: string) => boolean) =>
        [...initiatedBy].filter(([p]) => test(p)).map(([p, by]) => `${p} <- ${by}`);
      const document = `/runs/${runId}`;
      expect(byPage((p) => p.endsWith("/overview"))).toEqual([`/api/v1/runs/${runId}/overview <- ${document}`]);
      // (A preload link the script adds has no initiator stack: the page's HTML shows it lists the chunk.)
      const graphCode = [...initiatedBy.keys()].filter((p) => p.startsWith("/assets/dag-view-"));
      expect(graphCode).toHaveLength(1);
      const html = await (await fetch(`${server.url}${document}`)).text();
      expect(html.indexOf(graphCode[0]), "index.html lists the graph view's code").toBeGreaterThan(0);
      expect(html.indexOf(graphCode[0])).toBeLessThan(html.indexOf('<script type="module"'));

      const shown = await page.locator(".react-flow__node").count();
      // (ELK's layout, if it has arrived by now, moves other nodes into view: counted apart.)
      const everAdded = (await page.evaluate("window.__nodesAdded.provisional.size")) as number;
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThan(STEPS / 2);
      expect(everAdded).toBeLessThan(STEPS / 2);
      expect(await page.locator(".react-flow__node").first().getAttribute("aria-label")).toMatch(/succeeded/);

      // ELK's layout replaces the ranked one, still drawing only what is in view.
      await page.locator('.dag[data-layout="worker"]').waitFor({ timeout: 120_000 });
      expect(await page.locator(".react-flow__node").count()).toBeLessThan(STEPS / 2);
      // The order, not a time: step nodes were on screen from the ranked placement before ELK's arrived.
      const layouts = (await page.evaluate("window.__layouts")) as Array<{ source: string; nodes: number }>;
      const firstDrawn = layouts.find((l) => l.nodes > 0);
      expect(firstDrawn, JSON.stringify(layouts)).toEqual({ source: "provisional", nodes: expect.any(Number) });
      expect(layouts.map((l) => l.source).slice(-1)).toEqual(["worker"]);
      // Painted, not only put in the page: the first step node on screen was the ranked placement's, and
      // its paint came before ELK's layout arrived from the worker (the page marks that moment).
      const painted = (await page.evaluate("window.__painted")) as Array<{ id: string; at: number }>;
      const firstNodePaint = painted.find((p) => p.id.startsWith("dag-node "));
      expect(firstNodePaint?.id, JSON.stringify(painted.slice(0, 5))).toBe("dag-node provisional");
      expect(painted.some((p) => p.id === "run-summary")).toBe(true);
      const elkArrived = (await page.evaluate(
        `performance.getEntriesByName("trainyard:worker-layout").map((m) => m.startTime)`,
      )) as number[];
      expect(elkArrived).toHaveLength(1);
      expect(firstNodePaint!.at).toBeGreaterThan(0);
      expect(firstNodePaint!.at).toBeLessThan(elkArrived[0]);
      await screenshot(page, "run-graph-large");

      // The step panel reads its own step, attempts included.
      await page.locator(".react-flow__node").first().click();
      await page.getByTestId("step-panel").getByRole("tab", { name: "attempts" }).click();
      await expect.poll(() => page.getByTestId("step-panel").locator("tbody tr").count()).toBe(1);
      expect(asked.some((p) => /\/api\/v1\/runs\/[^/]+\/steps\/w\d{3}$/.test(p))).toBe(true);
    },
    180_000,
  );
});
