/**
 * Node positions for a pipeline graph, computed by ELK in a Web Worker and cached by the graph's
 * digest (in memory and in localStorage), so a run page of a graph seen before lays out at once.
 */
import ELK from "elkjs/lib/elk-api.js";
// ELK's own prebuilt worker script, shipped as a file: the layout (seconds at 1,000 steps) never
// runs on the main thread, and the build does not re-bundle ELK's 1.4 MB.
import elkWorkerUrl from "elkjs/lib/elk-worker.min.js?url";
import { useEffect, useState } from "react";
import { WORKER_LAYOUT_MARK } from "./element-timing";
import type { LayoutRequest, LayoutResult } from "./layout-types";
import { NODE_HEIGHT, NODE_WIDTH, rankedLayout, type GraphShape, type StepRanks } from "./ranked-layout";

export { NODE_HEIGHT, NODE_WIDTH, type GraphShape, type StepRanks };

const STORAGE_PREFIX = "trainyard-layout:";
const memory = new Map<string, LayoutResult>();
// A tab's first use of localStorage loads it, synchronously: done while the run's overview is on its way.
try {
  void localStorage.length;
} catch {
  // Storage off: the in-memory cache serves.
}
const waiting = new Map<string, Array<(r: LayoutResult) => void>>();

/** A digest of the graph's shape (FNV-1a over sorted nodes and edges), when the server gives none. */
export function graphDigest(g: GraphShape): string {
  const text =
    [...g.nodes].sort().join("\n") +
    "\n--\n" +
    g.edges
      .map((e) => `${e.source}>${e.target}`)
      .sort()
      .join("\n");
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return `fnv:${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}:${g.nodes.length}`;
}

function cached(digest: string): LayoutResult | undefined {
  const hit = memory.get(digest);
  if (hit) return hit;
  try {
    const text = localStorage.getItem(STORAGE_PREFIX + digest);
    if (!text) return undefined;
    const r = JSON.parse(text) as LayoutResult;
    memory.set(digest, r);
    return r;
  } catch {
    return undefined;
  }
}

function remember(r: LayoutResult): void {
  memory.set(r.digest, r);
  try {
    localStorage.setItem(STORAGE_PREFIX + r.digest, JSON.stringify(r));
  } catch {
    // Storage full or off: the in-memory cache still serves this tab.
  }
}

const OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.layered.spacing.nodeNodeBetweenLayers": "48",
  "elk.spacing.nodeNode": "14",
};

// Above a few hundred steps ELK's default strategies take tens of seconds; these take a few.
const LARGE_GRAPH = 200;
const LARGE_OPTIONS: Record<string, string> = {
  ...OPTIONS,
  "elk.layered.thoroughness": "1",
  "elk.layered.layering.strategy": "LONGEST_PATH",
  "elk.layered.nodePlacement.strategy": "SIMPLE",
  "elk.edgeRouting": "POLYLINE",
  "elk.layered.crossingMinimization.strategy": "INTERACTIVE",
  "elk.separateConnectedComponents": "false",
};

let elk: InstanceType<typeof ELK> | undefined;

async function layoutInWorker(req: LayoutRequest): Promise<LayoutResult> {
  const already = waiting.get(req.digest);
  if (already) return new Promise((resolve) => already.push(resolve));
  waiting.set(req.digest, []);
  elk ??= new ELK({ workerUrl: elkWorkerUrl });
  const started = performance.now();
  let result: LayoutResult;
  try {
    const graph = await elk.layout({
      id: "root",
      layoutOptions: req.nodes.length > LARGE_GRAPH ? LARGE_OPTIONS : OPTIONS,
      children: req.nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
      edges: req.edges.map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
    });
    const positions: LayoutResult["positions"] = {};
    for (const c of graph.children ?? []) positions[c.id] = { x: c.x ?? 0, y: c.y ?? 0 };
    result = { digest: req.digest, positions, ms: performance.now() - started };
    performance.mark(WORKER_LAYOUT_MARK, { detail: { digest: req.digest, ms: result.ms } });
    remember(result);
  } catch (err) {
    result = { digest: req.digest, positions: {}, ms: performance.now() - started, error: String(err) };
  }
  for (const resolve of waiting.get(req.digest) ?? []) resolve(result);
  waiting.delete(req.digest);
  return result;
}

export interface LayoutState {
  /** The graph digest the state is for: a new graph starts over. */
  key?: string;
  layout?: LayoutResult;
  /** Where the layout came from: the cache, the worker just now, or the server's ranks meanwhile. */
  source?: "cache" | "worker" | "provisional";
}

/**
 * The graph's layout: ELK's from the cache at once, or else the server's ranked placement at once
 * (when given) and ELK's from its worker when ready. Without ranks the graph waits for ELK.
 * `workerMayStart` holds ELK back while the ranked placement is still being drawn: its worker
 * competes for the same cores as the first paint.
 */
export function useDagLayout(
  graph: GraphShape | undefined,
  digest: string | undefined,
  ranks?: StepRanks,
  workerMayStart = true,
): LayoutState {
  const key = graph ? (digest ?? graphDigest(graph)) : undefined;
  const initial = (): LayoutState => {
    const hit = key ? cached(key) : undefined;
    if (hit) return { key, layout: hit, source: "cache" };
    if (!key || !graph || !ranks) return { key };
    return { key, layout: rankedLayout(key, graph.nodes, ranks), source: "provisional" };
  };
  const [state, setState] = useState<LayoutState>(initial);
  const current = state.key === key ? state : initial();
  // A new graph: its state replaces the old one before anything is drawn from it.
  if (current !== state) setState(current);
  // Without a placement to draw meanwhile, ELK starts at once.
  const start = !!key && current.source !== "cache" && (workerMayStart || !current.layout);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key stands for the graph's shape.
  useEffect(() => {
    if (!graph || !key || !start) return;
    let live = true;
    // After the frame that paints what the page has now: a task of its own, once that frame is out.
    const frame = requestAnimationFrame(() => {
      window.setTimeout(() => {
        if (!live) return;
        const nodes = graph.nodes.map((id) => ({ id, width: NODE_WIDTH, height: NODE_HEIGHT }));
        void layoutInWorker({ digest: key, nodes, edges: graph.edges }).then((layout) => {
          if (live && !layout.error) setState({ key, layout, source: "worker" });
        });
      }, 0);
    });
    return () => {
      live = false;
      cancelAnimationFrame(frame);
    };
  }, [key, start]);
  return current;
}
