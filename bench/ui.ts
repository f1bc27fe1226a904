/**
 * The web UI's figures, in headless Chromium against `trainyard ui` on a real home:
 *  - first-screen bundle, gzipped (entry chunk, its static imports and CSS);
 *  - run page of a finished 1,000-step run: first meaningful paint, the later of the first paints of
 *    the run summary and of a graph node at its laid-out place (whichever layout placed it), on a first
 *    visit, when ELK still lays the graph out in its worker, and on a second (layout from the digest
 *    cache); the longest main-thread task while ELK works;
 *  - live update lag: from a step's recorded state change (its finishedAt) to the moment the
 *    open run page shows it, over a chain of short steps; p50 and p95.
 *
 * A paint is read from Chromium's Element Timing where the page names its elements, and otherwise as
 * the end of the first frame after the element is in the page (a code before the names had them).
 * With `--baseline <checkout>` (another checkout, built), first visits alternate between its
 * `trainyard ui` and this one's on the same home, `--rounds` times, so both meet the same load.
 *
 *   npx tsx bench/ui.ts [--steps 1000] [--chain 40] [--baseline ../other-checkout --rounds 5]
 *   quick: npx tsx bench/ui.ts --steps 300 --chain 8
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { firstScreenBundle } from "../scripts/ui-bundle-size.mjs";
import { buildUi } from "../scripts/build-ui.mjs";
import { openBrowser } from "../test/ui/support/browser.js";
import { callApi, waitForRunEnd } from "../test/ui/support/flows.js";
import { startUiServer } from "../test/ui/support/ui-server.js";
import { flag } from "./support/timing.js";

const STEPS = Number(flag("steps", "1000"));
const CHAIN = Number(flag("chain", "40"));
const BASELINE = flag("baseline", "");
const ROUNDS = Number(flag("rounds", "5"));
const WIDTH = 20;
const ROOT = resolve("bench/.work/ui");

function wideModule(): string {
  const lines = [
    'import { pipeline } from "trainyard";',
    'const p = pipeline("wide", {});',
    "const s: any[] = [];",
    `for (let i = 0; i < ${STEPS}; i++) {`,
    `  const layer = Math.floor(i / ${WIDTH});`,
    `  const up: Record<string, ` +
      `any> = layer === 0 ? {} : { a: ` +
      `s[(layer - 1) * ${WIDTH} + (i % ${WIDTH})], b: s[(layer - 1) * ${WIDTH} + ((i + 7) % ${WIDTH})] };`,
    '  s.push(p.step(`s${String(i).padStart(4, "0")}`, { inputs: up, run: () => i }));',
    "}",
    "export default p;",
  ];
  return lines.join("\n") + "\n";
}

function chainModule(): string {
  return (
    [
      'import { pipeline } from "trainyard";',
      'import { z } from "zod";',
      'const p = pipeline("lag-chain", { params: z.object({ seed: z.number().default(0) }) });',
      "let prev: any;",
      `for (let i = 0; i < ${CHAIN}; i++) {`,
      '  prev = p.step(`c${String(i).padStart(3, "0")}`, { params: ["seed"], inputs: prev ? { prev } : {},',
      "    run: async () => { await new Promise((r) => setTimeout(r, 150)); return i; } });",
      "}",
      "export default p;",
    ].join("\n") + "\n"
  );
}

// Page-side scripts, as text: the bench is type-checked without the DOM's types.
const LONG_TASKS = `window.__longTasks = [];
new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__longTasks.push(e.duration)))
  .observe({ type: "longtask", buffered: true });`;
// The first paints of the run summary and of a visible graph node: Element Timing's entries (the
// identifier of a node's names its layout), and, for pages without them, the end of the first frame
// after the element entered the page (a message posted from that frame's animation callback).
const WATCH_PAINTS = `window.__paints = { elements: [] };
new PerformanceObserver((l) => l.getEntries().forEach((e) =>
  window.__paints.elements.push({ id: e.identifier, at: e.renderTime || e.loadTime })))
  .observe({ type: "element", buffered: true });
const afterFrame = (name) => requestAnimationFrame(() => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => { window.__paints[name] = performance.now(); };
  channel.port2.postMessage(0);
});
const watcher = new MutationObserver(() => {
  const p = window.__paints;
  if (p.summaryInPage === undefined && document.querySelector('[data-testid="run-summary"]')) {
    p.summaryInPage = performance.now();
    afterFrame("summaryFrame");
  }
  const node = p.graphInPage === undefined && document.querySelector(".react-flow__node");
  if (node && getComputedStyle(node).visibility !== "hidden") {
    p.graphInPage = performance.now();
    p.layoutInPage = document.querySelector(".dag")?.getAttribute("data-layout");
    afterFrame("graphFrame");
  }
  if (p.summaryInPage !== undefined && p.graphInPage !== undefined) watcher.disconnect();
});
watcher.observe(document, { subtree: true, childList: true });`;

interface Paints {
  /** The later of the summary's and the graph's first paint, in ms since navigation. */
  fmp: number;
  summary: number;
  graph: number;
  /** The layout whose nodes were painted first. */
  layout: string;
}

/**
 * Waits until the summary and a graph node have been painted and reads when (see WATCH_PAINTS):
 * by Element Timing when the page names its elements, and by the frame after insertion always.
 */
async function firstPaint(page: import("playwright-core").Page): Promise<{ element?: Paints; frame: Paints }> {
  await page.waitForFunction(
    "window.__paints.summaryFrame !== undefined && window.__paints.graphFrame !== undefined",
    undefined,
    { timeout: 120_000, polling: 100 },
  );
  // Element Timing reports a paint a moment after it.
  await page.waitForTimeout(200);
  const p = (await page.evaluate("window.__paints")) as {
    elements: Array<{ id: string; at: number }>;
    summaryFrame: number;
    graphFrame: number;
    layoutInPage: string;
  };
  const fmp = Math.max(p.summaryFrame, p.graphFrame);
  const frame = { fmp, summary: p.summaryFrame, graph: p.graphFrame, layout: p.layoutInPage };
  const summary = p.elements.find((e) => e.id === "run-summary");
  const node = p.elements.find((e) => e.id.startsWith("dag-node "));
  if (!summary || !node) return { frame };
  const layout = node.id.slice("dag-node ".length);
  return { frame, element: { fmp: Math.max(summary.at, node.at), summary: summary.at, graph: node.at, layout } };
}

const describePaint = (p: Paints) =>
  `${p.fmp.toFixed(0)} ms (summary ${p.summary.toFixed(0)} ms, graph ${p.graph.toFixed(0)} ms from ${p.layout})`;

// When each step's row first reads "succeeded" in the run page's list view.
const WATCH_SUCCEEDED = `(() => {
  window.__seen = {};
  const scan = () => {
    for (const row of document.querySelectorAll("tbody tr")) {
      const id = row.querySelector("a")?.textContent ?? "";
      if (row.textContent.includes("succeeded") && !(id in window.__seen)) window.__seen[id] = Date.now();
    }
  };
  new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, characterData: true });
  scan();
})()`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function main(): Promise<void> {
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(ROOT, { recursive: true });
  const home = join(ROOT, "home");
  const wide = join(ROOT, "wide.ts");
  const chain = join(ROOT, "lag-chain.ts");
  writeFileSync(wide, wideModule());
  writeFileSync(chain, chainModule());

  await buildUi();
  const bundle = firstScreenBundle();
  console.log(
    `first-screen bundle: ${(bundle.gzip / 1024).toFixed(0)} KB gzipped ` +
      `(${(bundle.raw / 1024).toFixed(0)} KB raw, ${bundle.files.length} files); ` +
      `target < 600 KB`,
  );

  const ran = spawnSync(process.execPath, ["bin/trainyard.js", "run", wide, "--json", "--concurrency", "4"], {
    env: { ...process.env, TRAINYARD_HOME: home },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (ran.status !== 0) throw new Error(`the ${STEPS}-step run failed:\n${ran.stderr.slice(-2000)}`);
  const wideRun = JSON.parse(ran.stdout).runId as string;

  if (BASELINE) {
    await compareFirstVisits(home, [wide, chain], wideRun);
    return;
  }
  const server = await startUiServer(home, [wide, chain]);
  try {
    for (const visit of ["first visit (ELK in its worker)", "second visit (layout cached)"]) {
      const b = await openBrowser();
      try {
        if (visit.startsWith("second")) {
          // The cache lives in the browser: warm it with one visit that waits for ELK.
          await b.page.goto(`${server.url}/runs/${wideRun}`);
          await b.page.locator('.dag[data-layout="worker"]').waitFor({ timeout: 300_000 });
        }
        await b.page.addInitScript({ content: LONG_TASKS });
        await b.page.addInitScript({ content: WATCH_PAINTS });
        await b.page.goto(`${server.url}/runs/${wideRun}`, { waitUntil: "commit" });
        const paint = await firstPaint(b.page);
        const source = await b.page.locator(".dag").getAttribute("data-layout");
        let line =
          `run page, ${STEPS} steps, ${visit}: first meaningful paint ` +
          (paint.element
            ? `${describePaint(paint.element)} by Element Timing; ${describePaint(paint.frame)} by the frame after`
            : `${describePaint(paint.frame)} by the frame after insertion (the page names no elements)`);
        if (source !== "cache") {
          const t0 = Date.now();
          await b.page.locator('.dag[data-layout="worker"]').waitFor({ timeout: 300_000 });
          const elkMs = await b.page.locator(".dag").getAttribute("data-layout-ms");
          const longest = (await b.page.evaluate("Math.max(0, ...window.__longTasks)")) as number;
          line +=
            `; ELK layout ${elkMs} ms in the worker (waited ${Date.now() - t0} ms), ` +
            `longest main-thread task ${longest.toFixed(0)} ms`;
        }
        console.log(line);
      } finally {
        await b.close();
      }
    }

    // Live lag: the page is open on the run before its steps start changing.
    const b = await openBrowser();
    try {
      await b.page.goto(server.url);
      const launched = await callApi<{ runId: string }>(server.url, "POST", "/runs", {
        pipeline: "lag-chain",
        params: { seed: Date.now() },
      });
      await b.page.goto(`${server.url}/runs/${launched.runId}?view=list`);
      await b.page.locator('[data-testid="run-summary"]').waitFor();
      const readyAt = (await b.page.evaluate("Date.now()")) as number;
      await b.page.evaluate(WATCH_SUCCEEDED);
      expect(await waitForRunEnd(server.url, launched.runId), "lag-chain run");
      await b.page.waitForTimeout(1500);
      const seen = (await b.page.evaluate("window.__seen")) as Record<string, number>;
      const detail = await callApi<{ stepDetails: Array<{ stepId: string; finishedAt?: number }> }>(
        server.url,
        "GET",
        `/runs/${launched.runId}`,
      );
      const lags = detail.stepDetails
        .filter((s) => s.finishedAt !== undefined && s.finishedAt > readyAt && seen[s.stepId] !== undefined)
        .map((s) => seen[s.stepId] - s.finishedAt!);
      if (!lags.length) throw new Error("no step state change was observed live");
      console.log(
        `live update lag over ${lags.length} step ends: ` +
          `p50 ${pct(lags, 50)} ms, p95 ${pct(lags, 95)} ms, max ${Math.max(...lags)} ms; ` +
          `target p95 < 300 ms`,
      );
    } finally {
      await b.close();
    }
  } finally {
    await server.stop();
  }
}

/** First visits to the run page, alternating between the baseline's server and this checkout's. */
async function compareFirstVisits(home: string, modules: string[], runId: string): Promise<void> {
  const baseline = await startUiServer(home, modules, [], {}, resolve(BASELINE, "bin", "trainyard.js"));
  const current = await startUiServer(home, modules);
  const times: Record<"baseline" | "current", number[]> = { baseline: [], current: [] };
  const loads: string[] = [];
  const layouts: Record<"baseline" | "current", string[]> = { baseline: [], current: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      loads.push(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
      for (const [name, server] of [
        ["baseline", baseline],
        ["current", current],
      ] as const) {
        const b = await openBrowser();
        try {
          await b.page.addInitScript({ content: WATCH_PAINTS });
          await b.page.goto(`${server.url}/runs/${runId}`, { waitUntil: "commit" });
          // Both servers measured alike: by the frame after insertion (a baseline may name no elements).
          const paint = await firstPaint(b.page);
          times[name].push(paint.frame.fmp);
          layouts[name].push(
            paint.frame.layout + (paint.element ? `; by Element Timing ${paint.element.fmp.toFixed(0)} ms` : ""),
          );
        } finally {
          await b.close();
        }
      }
      console.log(
        `round ${round + 1} (load ${loads[round]}): first visit, baseline ${times.baseline[round].toFixed(0)} ms ` +
          `(graph from ${layouts.baseline[round]}), this checkout ${times.current[round].toFixed(0)} ms ` +
          `(graph from ${layouts.current[round]})`,
      );
    }
  } finally {
    await baseline.stop();
    await current.stop();
  }
  const base = pct(times.baseline, 50);
  const now = pct(times.current, 50);
  console.log(
    `run page, ${STEPS} steps, first visit, median of ${ROUNDS} alternating rounds ` +
      `(1-minute load ${loads.join(", ")}): ` +
      `baseline ${base.toFixed(0)} ms, this checkout ${now.toFixed(0)} ms, ratio ${(now / base).toFixed(2)}`,
  );
}

function expect(status: string, what: string): void {
  if (status !== "succeeded") throw new Error(`${what} ended ${status}`);
}

await main();
