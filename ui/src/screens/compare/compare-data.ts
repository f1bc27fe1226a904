/**
 * What the compare view reads for the picked runs: the comparison table (POST, so hundreds of
 * runs fit), each run's metric series (curves, best within a run) and its search trials.
 */
import { useEffect, useState } from "react";
import { api } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import type { MetricSeries, RunComparison, TrialSetList } from "../../api/types";

export interface CompareData {
  comparison?: RunComparison;
  /** Per run id: its ordinary steps' metric series. */
  series: Map<string, MetricSeries[]>;
  /** Per run id: its search steps' trials. */
  trials: Map<string, TrialSetList["searches"]>;
  error?: unknown;
  loading: boolean;
}

export function useCompareData(runIds: string[]): CompareData {
  const key = runIds.join(",");
  const [state, setState] = useState<CompareData>({ series: new Map(), trials: new Map(), loading: false });
  useEffect(() => {
    // The key is the list: an equal list from a new render asks nothing again.
    const runIds = key.split(",").filter(Boolean);
    if (runIds.length < 2) {
      setState({ series: new Map(), trials: new Map(), loading: false });
      return;
    }
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    (async () => {
      const comparison = await api.post<RunComparison>(endpoints.compare(), { runs: runIds });
      const ids = comparison.runs.map((r) => r.id);
      const [series, trials] = await Promise.all([
        Promise.all(
          ids.map((id) => api.get<{ series: MetricSeries[] }>(endpoints.runMetrics(id, { stepsOnly: true }))),
        ),
        Promise.all(ids.map((id) => api.get<TrialSetList>(endpoints.runTrials(id)))),
      ]);
      return {
        comparison,
        series: new Map(ids.map((id, i) => [id, series[i].series])),
        trials: new Map(ids.map((id, i) => [id, trials[i].searches])),
        loading: false,
      };
    })().then(
      (data) => live && setState(data),
      (error) => live && setState({ series: new Map(), trials: new Map(), error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return state;
}

/** A short label for a run in legends: the tail of its id. */
export function runLabel(id: string): string {
  return id.length > 8 ? id.slice(-6) : id;
}
