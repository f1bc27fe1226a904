/**
 * A pipeline's runs x steps history (newest run on the left): which steps failed, when, and how
 * often. Each cell links to that step of that run.
 */
import { Fragment } from "react";
import type { RunGrid } from "../api/types";
import { links } from "../api/endpoints";
import { statusClass } from "../components/status";
import { formatDuration, formatTime } from "../components/time";
import { Link } from "../router";

/** The cell colours, by the status class they stand for. */
const LEGEND = [
  ["succeeded", "ran"],
  ["cached", "reused"],
  ["failed", "failed"],
  ["skipped", "skipped"],
  ["running", "running"],
] as const;

export function HistoryGrid({ grid }: { grid: RunGrid }) {
  if (!grid.runs.length) return <p className="muted">No runs yet.</p>;
  return (
    <div style={{ overflowX: "auto" }}>
      <table className="hgrid" aria-label={`${grid.pipeline}: runs by steps`}>
        <thead>
          <tr>
            <th scope="col">step</th>
            {grid.runs.map((r) => (
              <th key={r.id} scope="col">
                <Link
                  href={links.run(r.id)}
                  className={`cell ${statusClass(r.status)}`}
                  title={`run ${r.id}: ${r.status}, ${r.trigger}, ${formatTime(r.createdAt)}`}
                  aria-label={`run ${r.id} ${r.status}`}
                />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {grid.steps.map((step, i) => (
            <tr key={step}>
              <th className="step" scope="row" title={step}>
                {step}
              </th>
              {grid.runs.map((r) => {
                const c = r.cells[i];
                if (!c) return <td key={r.id} />;
                const what =
                  `${step} in ${r.id}: ${c.cached ? "reused" : c.status}` +
                  (c.durationMs !== undefined ? `, ${formatDuration(c.durationMs)}` : "") +
                  (c.attempts > 1 ? `, ${c.attempts} attempts` : "");
                return (
                  <td key={r.id}>
                    <Link
                      href={links.step(r.id, step)}
                      className={`cell ${statusClass(c.status, c.cached)}`}
                      title={what}
                      aria-label={what}
                    />
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">
        Newest run first.
        {LEGEND.map(([status, word]) => (
          <Fragment key={status}>
            {" "}
            <span className={`badge s-${status}`}>{word}</span>
          </Fragment>
        ))}
      </p>
    </div>
  );
}
