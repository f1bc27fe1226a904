/**
 * The quick placement, asked of its own small worker: the run page asks as soon as the graph
 * arrives, while the graph view's code still loads, and the view picks the answer up by digest.
 * On the main thread only when workers are unavailable.
 */
import type { LayoutResult } from "./layout-types";
import { quickLayout } from "./quick-layout";

export const NODE_WIDTH = 170;
export const NODE_HEIGHT = 36;

export interface GraphShape {
  nodes: string[];
  edges: Array<{ source: string; target: string }>;
}

const asked = new Map<string, Promise<LayoutResult>>();
let worker: Worker | undefined;

/** Starts the worker ahead of the first request (it loads while the run's overview does). */
export function warmQuickLayoutWorker(): Worker | undefined {
  try {
    worker ??= new Worker(new URL("./quick-layout-worker.ts", import.meta.url), { type: "module" });
  } catch {
    worker = undefined;
  }
  return worker;
}

export function quickLayoutOffThread(digest: string, graph: GraphShape): Promise<LayoutResult> {
  const known = asked.get(digest);
  if (known) return known;
  const size = { width: NODE_WIDTH, height: NODE_HEIGHT };
  const onMainThread = () => quickLayout(digest, graph.nodes, graph.edges, size);
  const w = warmQuickLayoutWorker();
  const answer: Promise<LayoutResult> = !w
    ? Promise.resolve(onMainThread())
    : new Promise((resolve) => {
        const stop = () => {
          w.removeEventListener("message", done);
          w.removeEventListener("error", failed);
        };
        const done = (e: MessageEvent<LayoutResult>) => {
          if (e.data.digest !== digest) return;
          stop();
          resolve(e.data);
        };
        const failed = () => {
          stop();
          resolve(onMainThread());
        };
        w.addEventListener("message", done);
        w.addEventListener("error", failed);
        w.postMessage({ digest, nodes: graph.nodes, edges: graph.edges, size });
      });
  // A few graphs at most are open in a tab: forget the oldest beyond that.
  if (asked.size >= 8) asked.delete(asked.keys().next().value!);
  asked.set(digest, answer);
  return answer;
}
