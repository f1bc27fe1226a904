/**
 * The run page's first request, sent before the page's own code has loaded: index.html sends it
 * for a run page opened directly, the shell when it starts loading the page, and the page takes
 * its answer over, once. Mounts of the page while a taken request is still in flight share it;
 * later loads ask anew.
 */
import { api, readResponse } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import type { RunOverview } from "../../api/types";

declare global {
  interface Window {
    /** Sent by index.html's inline script before any module loaded. */
    __trainyardEarlyOverview?: { runId: string; response: Promise<Response> };
  }
}

interface Asked {
  runId: string;
  answer: Promise<RunOverview>;
  taken: boolean;
  settled: boolean;
}

let current: Asked | undefined;
let lastAsked: string | undefined;

/** index.html's request for this run, once: a later visit of the same run asks anew. */
function earlyAnswer(runId: string): Promise<RunOverview> | undefined {
  const early = window.__trainyardEarlyOverview;
  if (!early) return undefined;
  window.__trainyardEarlyOverview = undefined;
  return early.runId === runId ? early.response.then((res) => readResponse<RunOverview>(res)) : undefined;
}

function ask(runId: string, taken: boolean): Asked {
  const answer = earlyAnswer(runId) ?? api.get<RunOverview>(endpoints.runOverview(runId));
  const entry: Asked = { runId, answer, taken, settled: false };
  const settle = () => {
    entry.settled = true;
    if (entry.taken && current === entry) current = undefined;
  };
  entry.answer.then(settle, settle);
  current = entry;
  return entry;
}

/** Asks once per run opened: the shell re-renders the page on every in-page navigation. */
export function prefetchRunOverview(runId: string): void {
  if (lastAsked === runId) return;
  lastAsked = runId;
  if (current?.runId !== runId) ask(runId, false);
}

/** The overview with its graph: the prefetched answer, the request in flight, or a new one. */
export function firstRunOverview(runId: string): Promise<RunOverview> {
  const usable = current?.runId === runId && (!current.taken || !current.settled) ? current : undefined;
  const entry = usable ?? ask(runId, true);
  entry.taken = true;
  if (entry.settled && current === entry) current = undefined;
  return entry.answer;
}
