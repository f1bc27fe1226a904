/**
 * Picks runs of one pipeline to compare: its runs with their params and final metrics, newest
 * first, fetched a page at a time as the list scrolls, and only the visible rows rendered, so a
 * pipeline with hundreds of runs stays quick.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../../api/client";
import { endpoints } from "../../api/endpoints";
import type { RunSummary, RunSummaryPage } from "../../api/types";
import { ErrorBox } from "../../components/error-box";
import { StatusBadge } from "../../components/status";
import { formatNumber, Time } from "../../components/time";

const PAGE = 100;
const ROW_HEIGHT = 30;
const VIEW_HEIGHT = 330;
const OVERSCAN = 6;
const MAX_COLUMNS = 4;

interface Props {
  pipeline: string;
  selected: string[];
  onChange: (selected: string[]) => void;
}

export function RunPicker({ pipeline, selected, onChange }: Props) {
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>();
  const [scrollTop, setScrollTop] = useState(0);
  const [goals, setGoals] = useState<RunSummaryPage["goals"]>({});
  const [filter, setFilter] = useState("");
  const [sortKey, setSortKey] = useState<string>();
  const loading = useRef(false);

  // One function per pipeline: the effects below re-run when the pipeline changes, not on every render.
  const loadPage = useCallback(
    (after?: string, reset = false) => {
      if (loading.current) return;
      loading.current = true;
      api
        .get<RunSummaryPage>(endpoints.pipelineRuns(pipeline, { limit: PAGE, cursor: after }))
        .then((p) => {
          setRuns((r) => (reset ? p.runs : [...r, ...p.runs]));
          setGoals((g) => (reset ? p.goals : { ...g, ...p.goals }));
          setCursor(p.nextCursor);
          setDone(!p.nextCursor);
          setError(undefined);
        }, setError)
        .finally(() => (loading.current = false));
    },
    [pipeline],
  );
  useEffect(() => {
    setRuns([]);
    setDone(false);
    setScrollTop(0);
    loadPage(undefined, true);
  }, [loadPage]);

  // Columns: the params that vary over the loaded runs, then the metrics most runs have.
  const columns = useMemo(() => pickColumns(runs), [runs]);
  const shown = useMemo(() => sortRuns(filterRuns(runs, filter), sortKey, goals), [runs, filter, sortKey, goals]);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(shown.length, Math.ceil((scrollTop + VIEW_HEIGHT) / ROW_HEIGHT) + OVERSCAN);
  // Near the end of what is shown (or filtering or sorting, which need every run), fetch the next page.
  const wantsAll = filter.trim() !== "" || sortKey !== undefined;
  useEffect(() => {
    if (!done && cursor && (wantsAll || last >= shown.length - OVERSCAN)) loadPage(cursor);
  }, [last, shown.length, done, cursor, wantsAll, loadPage]);

  const picked = new Set(selected);
  const toggle = (id: string) => onChange(picked.has(id) ? selected.filter((s) => s !== id) : [...selected, id]);
  const template = `28px 200px 96px 150px repeat(${columns.params.length + columns.metrics.length}, minmax(80px, 1fr))`;
  return (
    <section className="panel" aria-label="Pick runs">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 style={{ margin: 0 }}>Runs of {pipeline}</h2>
        <span className="muted small" data-loaded={runs.length}>
          {selected.length} picked · {runs.length}
          {done ? "" : "+"} runs loaded
          {selected.length > 0 && (
            <>
              {" "}
              <button type="button" onClick={() => onChange([])}>
                Clear
              </button>
            </>
          )}
        </span>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      <label className="small">
        Filter{" "}
        <input
          name="run-filter"
          value={filter}
          placeholder="run id, or param=value"
          onChange={(e) => {
            setFilter(e.target.value);
            setScrollTop(0);
          }}
        />{" "}
        {filter.trim() && <span className="muted">{shown.length} match</span>}
      </label>
      <div className="picker-row picker-head" style={{ gridTemplateColumns: template }}>
        <span />
        <span>run</span>
        <span>status</span>
        <span>created</span>
        {columns.params.map((p) => (
          <span key={p} className="num">
            {p}
          </span>
        ))}
        {columns.metrics.map((k) => (
          <button
            type="button"
            key={k}
            className="num link-button"
            title={`sort by ${k}, best first`}
            aria-pressed={sortKey === k}
            onClick={() => setSortKey(sortKey === k ? undefined : k)}
          >
            {k}
            {sortKey === k ? " ▾" : ""}
          </button>
        ))}
      </div>
      <div
        className="picker-view"
        style={{ height: VIEW_HEIGHT }}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <ul className="picker-list" aria-label="runs" style={{ height: shown.length * ROW_HEIGHT }}>
          {shown.slice(first, last).map((r, i) => (
            <li key={r.id} data-run={r.id} style={{ top: (first + i) * ROW_HEIGHT, height: ROW_HEIGHT }}>
              <label className="picker-row" style={{ gridTemplateColumns: template }}>
                <input
                  type="checkbox"
                  checked={picked.has(r.id)}
                  onChange={() => toggle(r.id)}
                  aria-label={`pick ${r.id}`}
                />
                <span className="mono small">{r.id}</span>
                <span>
                  <StatusBadge status={r.status} />
                </span>
                <span className="small">
                  <Time ms={r.createdAt} />
                </span>
                {columns.params.map((p) => (
                  <span key={p} className="num">
                    {formatNumber(r.params[p])}
                  </span>
                ))}
                {columns.metrics.map((k) => (
                  <span key={k} className="num">
                    {formatNumber(r.metrics[k])}
                  </span>
                ))}
              </label>
            </li>
          ))}
        </ul>
      </div>
      {!done && (
        <button type="button" onClick={() => loadPage(cursor)} disabled={!cursor}>
          Older runs
        </button>
      )}
    </section>
  );
}

/** Keeps runs whose id contains each word, or whose param equals it for a `param=value` word. */
function filterRuns(runs: RunSummary[], filter: string): RunSummary[] {
  const words = filter.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return runs;
  return runs.filter((r) =>
    words.every((w) => {
      const at = w.indexOf("=");
      if (at < 0) return r.id.includes(w);
      const value = r.params[w.slice(0, at)];
      return value !== undefined && String(value) === w.slice(at + 1);
    }),
  );
}

/** Best first by the metric's goal; runs without the metric last. */
function sortRuns(runs: RunSummary[], key: string | undefined, goals: Record<string, "min" | "max">): RunSummary[] {
  if (!key) return runs;
  const sign = goals[key] === "min" ? 1 : -1;
  const value = (r: RunSummary) => r.metrics[key];
  return [...runs].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === undefined || vb === undefined) return Number(va === undefined) - Number(vb === undefined);
    return sign * (va - vb);
  });
}

function pickColumns(runs: RunSummary[]): { params: string[]; metrics: string[] } {
  const values = new Map<string, Set<string>>();
  const metricCounts = new Map<string, number>();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.params)) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(JSON.stringify(v));
    }
    for (const k of Object.keys(r.metrics)) metricCounts.set(k, (metricCounts.get(k) ?? 0) + 1);
  }
  const params = [...values].filter(([, s]) => s.size > 1).map(([k]) => k);
  const metrics = [...metricCounts].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const shownParams = params.slice(0, Math.max(2, MAX_COLUMNS - metrics.length));
  return { params: shownParams, metrics: metrics.slice(0, MAX_COLUMNS - Math.min(shownParams.length, 2)) };
}
