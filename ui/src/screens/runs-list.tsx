/** Runs, newest first, filtered by pipeline, status and trigger; pages by cursor. */
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
  useEffect(() => {
    api.get<RunPage>(endpoints.runs({ ...filter, limit: 50 })).then((p) => {
      setRuns(p.runs);
      setCursor(p.nextCursor);
      setError(undefined);
    }, setError);
    // eslint-disable-next-line react-hooks/exhaustive-deps
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
      {error !== undefined && <ErrorBox error={error} />}
      <table>
        <thead>
          <tr>
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
            <tr key={r.id}>
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
      {cursor && <button onClick={() => void more()}>Older runs</button>}
    </div>
  );
}
