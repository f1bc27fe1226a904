/**
 * A run's step states, live: loaded from the run's detail, then patched from step events as they
 * arrive, so a state change reaches the page without waiting for a reload. A reload that answers
 * later than an event never moves a step back.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import { useLiveEvents } from "../../api/live";
import type { RunDetail, StepDetail } from "../../api/types";

export interface StepState {
  stepId: string;
  status: string;
  cached: boolean;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  error?: StepDetail["error"];
}

const TERMINAL_RUN = new Set(["succeeded", "failed", "rejected", "cancelled", "interrupted"]);
const TERMINAL = new Set(["succeeded", "failed", "rejected", "skipped", "cancelled", "interrupted"]);
const rank = (s: StepState) => s.attempts * 10 + (TERMINAL.has(s.status) ? 2 : s.status === "running" ? 1 : 0);

function newer(a: StepState | undefined, b: StepState): StepState {
  return !a || rank(b) >= rank(a) ? b : a;
}

export interface LiveRun {
  detail?: RunDetail;
  error?: unknown;
  steps: Map<string, StepState>;
  runStatus?: string;
  reload: () => void;
  /** performance.now() of the last step event applied, for the lag benchmark. */
  lastEventAt?: number;
}

export function useLiveRun(runId: string): LiveRun {
  const [detail, setDetail] = useState<RunDetail>();
  const [error, setError] = useState<unknown>();
  const [steps, setSteps] = useState(() => new Map<string, StepState>());
  const [runStatus, setRunStatus] = useState<string>();
  const reloadTimer = useRef<number | undefined>(undefined);
  const generation = useRef(0);

  const load = useMemo(
    () => () => {
      const gen = ++generation.current;
      api.get<RunDetail>(endpoints.run(runId)).then(
        (d) => {
          if (gen !== generation.current) return;
          setDetail(d);
          setError(undefined);
          setRunStatus((s) => (s && TERMINAL.has(s) && !TERMINAL.has(d.run.status) ? s : d.run.status));
          setSteps((prev) => {
            const next = new Map(prev);
            for (const s of d.stepDetails) next.set(s.stepId, newer(prev.get(s.stepId), s));
            return next;
          });
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
    setDetail(undefined);
    setSteps(new Map());
    setRunStatus(undefined);
    load();
    return () => window.clearTimeout(reloadTimer.current);
  }, [load]);

  // Attempts, errors and the cache's why come with the detail: reload it soon after events stop.
  const scheduleReload = () => {
    window.clearTimeout(reloadTimer.current);
    reloadTimer.current = window.setTimeout(load, 250);
  };

  const lastEventAt = useRef<number | undefined>(undefined);
  useLiveEvents(
    (e) => {
      const d = e.data as Record<string, unknown>;
      if (d.runId !== undefined && d.runId !== runId) return;
      if (e.type === "step" && d.item === undefined) {
        const patch = { ...(d as unknown as StepState), stepId: String(d.step) };
        setSteps((prev) => new Map(prev).set(patch.stepId, newer(prev.get(patch.stepId), patch)));
        lastEventAt.current = performance.now();
        scheduleReload();
      } else if (e.type === "run") {
        setRunStatus(String(d.status));
        scheduleReload();
      }
      // The server ends a finished run's stream; listening on would only reconnect to nothing new.
    },
    !detail || (runStatus && TERMINAL_RUN.has(runStatus)) ? null : endpoints.runEvents(runId),
  );

  return { detail, error, steps, runStatus, reload: load, lastEventAt: lastEventAt.current };
}
