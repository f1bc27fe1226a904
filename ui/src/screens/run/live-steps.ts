/**
 * A run's step states, live: loaded from the run's overview (one request with the graph), then
 * patched from step events, which are applied once per frame so a burst of events is one render.
 * A reload that answers later than an event never moves a step back, and one that changes
 * nothing keeps the same map, so nothing re-renders.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import { useLiveEvents } from "../../api/live";
import type { PipelineGraph, RunOverview, StepStateView } from "../../api/types";
import { firstRunOverview } from "./overview-prefetch";

export interface StepState {
  stepId: string;
  status: string;
  cached: boolean;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  error?: StepStateView["error"];
}

const TERMINAL_RUN = new Set(["succeeded", "failed", "rejected", "cancelled", "interrupted"]);
const TERMINAL = new Set(["succeeded", "failed", "rejected", "skipped", "cancelled", "interrupted"]);
const rank = (s: StepState) => s.attempts * 10 + (TERMINAL.has(s.status) ? 2 : s.status === "running" ? 1 : 0);

function newer(a: StepState | undefined, b: StepState): StepState {
  return !a || rank(b) >= rank(a) ? b : a;
}

function sameState(a: StepState | undefined, b: StepState): boolean {
  return (
    !!a &&
    a.status === b.status &&
    a.cached === b.cached &&
    a.attempts === b.attempts &&
    a.startedAt === b.startedAt &&
    a.finishedAt === b.finishedAt &&
    a.error?.message === b.error?.message
  );
}

/** The states merged in, or `prev` itself when none changed (React then skips the render). */
function merge(prev: Map<string, StepState>, incoming: Iterable<StepState>): Map<string, StepState> {
  let next: Map<string, StepState> | undefined;
  for (const s of incoming) {
    const old = (next ?? prev).get(s.stepId);
    const chosen = newer(old, s);
    if (chosen === old || sameState(old, chosen)) continue;
    next ??= new Map(prev);
    next.set(s.stepId, chosen);
  }
  return next ?? prev;
}

export interface LiveRun {
  /** The run, its trigger, owner and gate verdicts (steps are in `steps`). */
  overview?: Omit<RunOverview, "graph" | "graphError">;
  graph?: PipelineGraph;
  graphError?: unknown;
  error?: unknown;
  steps: Map<string, StepState>;
  runStatus?: string;
  reload: () => void;
}

export function useLiveRun(runId: string): LiveRun {
  const [overview, setOverview] = useState<LiveRun["overview"]>();
  const [graph, setGraph] = useState<{ graph?: PipelineGraph; error?: unknown }>({});
  const [error, setError] = useState<unknown>();
  const [steps, setSteps] = useState(() => new Map<string, StepState>());
  const [runStatus, setRunStatus] = useState<string>();
  const reloadTimer = useRef<number | undefined>(undefined);
  const generation = useRef(0);
  const haveGraph = useRef(false);

  const load = useMemo(
    () => () => {
      const gen = ++generation.current;
      const withGraph = !haveGraph.current;
      const answer = withGraph
        ? firstRunOverview(runId)
        : api.get<RunOverview>(endpoints.runOverview(runId, { graph: false }));
      answer.then(
        ({ graph: g, graphError, ...o }) => {
          if (gen !== generation.current) return;
          if (withGraph) {
            haveGraph.current = true;
            setGraph({ graph: g, error: graphError });
          }
          setOverview(o);
          setError(undefined);
          setRunStatus((s) => (s && TERMINAL.has(s) && !TERMINAL.has(o.run.status) ? s : o.run.status));
          setSteps((prev) => merge(prev, o.steps));
        },
        (err) => {
          if (gen !== generation.current) return;
          setError(err);
          // A run the daemon has queued but not started is not recorded yet: ask again shortly.
          if (err instanceof ApiError && err.status === 404) reloadTimer.current = window.setTimeout(load, 700);
        },
      );
    },
    [runId],
  );

  useEffect(() => {
    haveGraph.current = false;
    // Another run opened in the same page (e.g. from an ambiguous prefix's list) starts without the last one's error.
    setError(undefined);
    setOverview(undefined);
    setGraph({});
    setSteps(new Map());
    setRunStatus(undefined);
    load();
    return () => window.clearTimeout(reloadTimer.current);
  }, [load]);

  // Attempts and errors come with the overview: reload it soon after events stop.
  const scheduleReload = () => {
    window.clearTimeout(reloadTimer.current);
    reloadTimer.current = window.setTimeout(load, 250);
  };

  // Step events wait for the next frame and are applied together.
  const pending = useRef<StepState[]>([]);
  const flushing = useRef(false);
  const flush = () => {
    flushing.current = false;
    const batch = pending.current;
    pending.current = [];
    setSteps((prev) => merge(prev, batch));
  };
  useLiveEvents(
    (e) => {
      const d = e.data as Record<string, unknown>;
      if (d.runId !== undefined && d.runId !== runId) return;
      if (e.type === "step" && d.item === undefined) {
        pending.current.push({ ...(d as unknown as StepState), stepId: String(d.step) });
        if (!flushing.current) {
          flushing.current = true;
          // A hidden tab gets no frames: a short timer stands in.
          if (document.hidden) window.setTimeout(flush, 50);
          else requestAnimationFrame(flush);
        }
        scheduleReload();
      } else if (e.type === "run") {
        setRunStatus(String(d.status));
        scheduleReload();
      }
      // The server ends a finished run's stream; listening on would only reconnect to nothing new.
    },
    !overview || (runStatus && TERMINAL_RUN.has(runStatus)) ? null : endpoints.runEvents(runId),
  );

  return { overview, graph: graph.graph, graphError: graph.error, error, steps, runStatus, reload: load };
}
