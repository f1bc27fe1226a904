/**
 * Runs, newest first, filtered by pipeline, status and trigger; pages by cursor. Ticked runs
 * (kept across pages and live refreshes) open side by side in the compare view.
 */
import { useEffect, useState } from "react";
import { api } from "../api/client";
import { endpoints, links } from "../api/endpoints";
import { useLiveRefresh } from "../api/live";
import type { RunPage, RunRecord } from "../api/types";
import { ErrorBox } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { formatDuration, Time } from "../components/time";
import { Link, navigate, useLocation, useTitle } from "../router";

const STATUSES = ["", "queued", "running", "succeeded", "failed", "rejected", "cancelled", "interrupted"];

export default function RunsList() {
  useTitle("Runs");
  const { query } = useLocation();
  const filter = {
    pipeline: query.get("pipeline") ?? undefined,
    status: query.get("status") ?? undefined,
    trigger: query.get("trigger") ?? undefined,
  };
  const key = JSON.stringify(filter);
  const [runs, setRuns] = useState<RunRecord[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  const [picked, setPicked] = useState<RunRecord[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the filter; `tick` asks again.
  useEffect(() => {
    api.get<RunPage>(endpoints.runs({ ...filter, limit: 50 })).then((p) => {
      setRuns(p.runs);
      setCursor(p.nextCursor);
      setError(undefined);
    }, setError);
  }, [key, tick]);
  useLiveRefresh(
    (e) => e.type === "run",
    () => setTick((t) => t + 1),
    500,
  );
  const more = () =>
    api.get<RunPage>(endpoints.runs({ ...filter, limit: 50, cursor })).then((p) => {
      setRuns((r) => [...r, ...p.runs]);
      setCursor(p.nextCursor);
    }, setError);
  const isPicked = (id: string) => picked.some((r) => r.id === id);
  const toggle = (run: RunRecord) =>
    setPicked((p) => (p.some((r) => r.id === run.id) ? p.filter((r) => r.id !== run.id) : [...p, run]));
  const allShownPicked = runs.length > 0 && runs.every((r) => isPicked(r.id));
  const toggleShown = () =>
    setPicked((p) =>
      allShownPicked
        ? p.filter((r) => !runs.some((x) => x.id === r.id))
        : [...p, ...runs.filter((r) => !p.some((x) => x.id === r.id))],
    );
  const setFilter = (k: string, v: string) => {
    const q = new URLSearchParams(query);
    if (v) q.set(k, v);
    else q.delete(k);
    navigate(`/runs${q.size ? "?" + q : ""}`);
  };
  return (
    <div>
      <h1>Runs</h1>
      <div className="row" style={{ marginBottom: 10 }}>
        <label>
          Pipeline{" "}
          <input
            defaultValue={filter.pipeline}
            onKeyDown={(e) => e.key === "Enter" && setFilter("pipeline", e.currentTarget.value)}
          />
        </label>
        <label>
          Status{" "}
          <select value={filter.status ?? ""} onChange={(e) => setFilter("status", e.target.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Trigger{" "}
          <input
            defaultValue={filter.trigger}
            placeholder="schedule, data, manual…"
            onKeyDown={(e) => e.key === "Enter" && setFilter("trigger", e.currentTarget.value)}
          />
        </label>
      </div>
      <ComparePicked picked={picked} onClear={() => setPicked([])} />
      {error !== undefined && <ErrorBox error={error} />}
      <table>
        <thead>
          <tr>
            <th>
              <input
                type="checkbox"
                name="pick-all"
                aria-label="tick every run shown"
                checked={allShownPicked}
                onChange={toggleShown}
              />
            </th>
            <th>run</th>
            <th>pipeline</th>
            <th>status</th>
            <th>trigger</th>
            <th>created</th>
            <th className="num">took</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run={r.id}>
              <td>
                <input
                  type="checkbox"
                  name="pick"
                  aria-label={`tick run ${r.id} to compare`}
                  checked={isPicked(r.id)}
                  onChange={() => toggle(r)}
                />
              </td>
              <td>
                <Link href={links.run(r.id)} className="mono">
                  {r.id}
                </Link>
              </td>
              <td>{r.pipeline}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>{r.trigger}</td>
              <td>
                <Time ms={r.createdAt} />
              </td>
              <td className="num">
                {formatDuration(r.finishedAt && r.startedAt ? r.finishedAt - r.startedAt : undefined)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && !error && <p className="muted">No runs match.</p>}
      {cursor && (
        <button type="button" onClick={() => void more()}>
          Older runs
        </button>
      )}
    </div>
  );
}

/** "Compare (n)": a link to the compare view of the ticked runs, once two or more are ticked. */
function ComparePicked({ picked, onClear }: { picked: RunRecord[]; onClear: () => void }) {
  const pipelines = new Set(picked.map((r) => r.pipeline));
  const pipeline = pipelines.size === 1 ? [...pipelines][0] : undefined;
  const label = `Compare (${picked.length})`;
  return (
    <div className="row" style={{ marginBottom: 10 }} data-testid="compare-picked">
      {picked.length >= 2 ? (
        <Link className="button-link primary" href={links.compare({ pipeline, runs: picked.map((r) => r.id) })}>
          {label}
        </Link>
      ) : (
        <button type="button" disabled title="tick two runs or more to compare them">
          {label}
        </button>
      )}
      {picked.length > 0 && (
        <button type="button" onClick={onClear}>
          Clear
        </button>
      )}
      <span className="muted small" aria-live="polite">
        {picked.length === 0 ? "Tick runs to compare them." : `${picked.length} ticked`}
        {pipelines.size > 1 && " from different pipelines: only their shared rows line up"}
      </span>
    </div>
  );
}
