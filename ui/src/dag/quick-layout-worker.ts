/** Runs the quick placement in a Web Worker: even the provisional layout stays off the main thread. */
import type { QuickLayoutRequest } from "./layout-types";
import { quickLayout } from "./quick-layout";

self.onmessage = (e: MessageEvent<QuickLayoutRequest>) => {
  const { digest, nodes, edges, size } = e.data;
  self.postMessage(quickLayout(digest, nodes, edges, size));
};
