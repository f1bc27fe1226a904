/**
 * Chromium's Element Timing: an element carrying `elementtiming` is reported, with the moment it was
 * first painted, to a PerformanceObserver of type "element". The run page names its summary and its
 * graph's step nodes so that the first paint of each can be read in the browser (the benchmark and
 * the browser tests do), the layout that placed a node being part of its name.
 */
import "react";

declare module "react" {
  interface HTMLAttributes<T> {
    /** Element Timing's identifier for this element's first paint. */
    elementtiming?: string;
  }
}

/** Where the graph's layout came from, in the identifier of its nodes' first paint: `dag-node provisional`. */
export const dagNodeTiming = (source: string) => `dag-node ${source}`;
export const RUN_SUMMARY_TIMING = "run-summary";

/** Marked when ELK's layout arrives from its worker, to be set against the first paint of the nodes. */
export const WORKER_LAYOUT_MARK = "trainyard:worker-layout";

/**
 * Calls `then` once an element whose Element Timing identifier starts with `prefix` has been painted,
 * or, in a browser without Element Timing, after the next frame. A page that paints no such element
 * (a hidden tab, nothing in view) calls it after `latestMs`. Returns a cancel function.
 */
export function afterPainted(prefix: string, then: () => void, latestMs = 2000): () => void {
  if (!PerformanceObserver.supportedEntryTypes?.includes("element")) {
    let timer = 0;
    const frame = requestAnimationFrame(() => {
      timer = window.setTimeout(then, 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      window.clearTimeout(timer);
    };
  }
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    observer.disconnect();
    window.clearTimeout(latest);
    then();
  };
  const observer = new PerformanceObserver((list) => {
    const entries = list.getEntries() as Array<PerformanceEntry & { identifier?: string }>;
    if (entries.some((e) => e.identifier?.startsWith(prefix))) finish();
  });
  observer.observe({ type: "element", buffered: true });
  const latest = window.setTimeout(finish, latestMs);
  return () => {
    done = true;
    observer.disconnect();
    window.clearTimeout(latest);
  };
}
