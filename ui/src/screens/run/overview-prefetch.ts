/**
 * The run page's first request, sent before the page's own code has loaded: the shell starts it
 * when it starts loading the page, and the page takes the answer over once (later loads ask anew).
 */
import { api } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import type { RunOverview } from "../../api/types";

let prefetched: { runId: string; answer: Promise<RunOverview> } | undefined;
let lastAsked: string | undefined;

/** Asks once per run opened: the shell re-renders the page on every in-page navigation. */
export function prefetchRunOverview(runId: string): void {
  if (lastAsked === runId) return;
  lastAsked = runId;
  const answer = api.get<RunOverview>(endpoints.runOverview(runId));
  // Unclaimed, a failure is not an error of its own: the page's request reports it.
  answer.catch(() => undefined);
  prefetched = { runId, answer };
}

export function takePrefetchedOverview(runId: string): Promise<RunOverview> | undefined {
  if (prefetched?.runId !== runId) return undefined;
  const { answer } = prefetched;
  prefetched = undefined;
  return answer;
}
