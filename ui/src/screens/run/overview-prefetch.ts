/**
 * The run page's first request, sent before the page's own code has loaded: the shell starts it
 * when it starts loading the page, and the page picks it up. While it is in flight, every mount of
 * the page for that run shares it; once answered, later loads ask anew.
 */
import { api } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import type { RunOverview } from "../../api/types";

let inFlight: { runId: string; answer: Promise<RunOverview> } | undefined;
let lastAsked: string | undefined;

function ask(runId: string): Promise<RunOverview> {
  const answer = api.get<RunOverview>(endpoints.runOverview(runId));
  const entry = { runId, answer };
  inFlight = entry;
  const settled = () => {
    if (inFlight === entry) inFlight = undefined;
  };
  answer.then(settled, settled);
  return answer;
}

/** Asks once per run opened: the shell re-renders the page on every in-page navigation. */
export function prefetchRunOverview(runId: string): void {
  if (lastAsked === runId) return;
  lastAsked = runId;
  if (inFlight?.runId !== runId) ask(runId);
}

/** The overview with its graph: the request in flight for this run, or a new one. */
export function firstRunOverview(runId: string): Promise<RunOverview> {
  return inFlight?.runId === runId ? inFlight.answer : ask(runId);
}
