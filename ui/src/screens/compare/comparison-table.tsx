/**
 * Params, metrics and tags of the picked runs side by side, as `trainyard runs compare` prints
 * them (one engine function answers both): each metric has a "best" row (by its goal, with the
 * epoch it was reached at) and a "final" row (the last value); the run with the best value in a
 * row is marked ★. "Only differences" hides equal rows.
 */
import { links } from "../../api/endpoints";
import type { RunComparison } from "../../api/types";
import { StatusBadge } from "../../components/status";
import { formatNumber } from "../../components/time";
import { Link } from "../../router";
import { runLabel } from "./compare-data";

interface Props {
  comparison: RunComparison;
  onlyDifferences: boolean;
  onToggleDifferences: (on: boolean) => void;
}

type Row = RunComparison["rows"][number];

export function ComparisonTable({ comparison, onlyDifferences, onToggleDifferences }: Props) {
  const rows = comparison.rows.filter((r) => !onlyDifferences || r.differs);
  const hidden = comparison.rows.length - rows.length;
  return (
    <section className="panel" aria-label="Params and metrics">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 style={{ margin: 0 }}>Params and metrics</h2>
        <label>
          <input
            type="checkbox"
            name="only-differences"
            checked={onlyDifferences}
            onChange={(e) => onToggleDifferences(e.target.checked)}
          />{" "}
          only differences
          {onlyDifferences && hidden > 0 && <span className="muted small"> ({hidden} equal rows hidden)</span>}
        </label>
      </div>
      <div style={{ overflowX: "auto" }}>
        <table className="compare-table">
          <thead>
            <tr>
              <th>row</th>
              {comparison.runs.map((r) => (
                <th key={r.id} className="num" title={r.id}>
                  <Link href={links.run(r.id)} className="mono">
                    {runLabel(r.id)}
                  </Link>{" "}
                  <StatusBadge status={r.status} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr
                key={`${row.kind}:${row.key}:${row.measure ?? ""}`}
                data-row={row.key}
                data-measure={row.measure}
                data-kind={row.kind}
                data-differs={row.differs}
              >
                <th scope="row">
                  <RowLabel row={row} />
                </th>
                {comparison.runs.map((run, i) =>
                  row.kind === "metric" ? (
                    <MetricTd key={run.id} value={row.values[i]} at={row.at?.[i]} best={row.best === i} />
                  ) : (
                    <td key={run.id} className="num">
                      {formatNumber(row.values[i] ?? undefined)}
                    </td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p className="muted">The runs have the same params, metrics and tags.</p>}
    </section>
  );
}

function RowLabel({ row }: { row: Row }) {
  if (row.kind !== "metric") {
    return (
      <>
        <span className="muted small">{row.kind}</span> {row.key}
      </>
    );
  }
  return (
    <>
      <span className="muted small">metric</span> {row.key} <strong className="measure">{row.measure}</strong>
      <span className="muted small"> ({row.goal === "min" ? "lower" : "higher"} is better)</span>
    </>
  );
}

function MetricTd({ value, at, best }: { value: unknown; at?: number | null; best: boolean }) {
  return (
    <td className={`num${best ? " best" : ""}`} data-best={best || undefined}>
      {best && (
        <span className="best-marker" role="img" aria-label="best" title="best of these runs">
          ★{" "}
        </span>
      )}
      {formatNumber(value)}
      {at !== undefined && at !== null && <span className="muted small"> @{at}</span>}
    </td>
  );
}
