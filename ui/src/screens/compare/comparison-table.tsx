/**
 * Params, metrics and tags of the picked runs side by side. A metric cell shows the run's best
 * value by the metric's goal (with the epoch it was reached at) and its last value when they
 * differ; the run with the best value in a row is marked ★. "Only differences" hides equal rows.
 */
import { links } from "../../api/endpoints";
import type { MetricSeries, RunComparison } from "../../api/types";
import { StatusBadge } from "../../components/status";
import { formatNumber } from "../../components/time";
import { Link } from "../../router";
import { bestIndex, runLabel, seriesByKey, type Goal } from "./compare-data";

interface Props {
  comparison: RunComparison;
  series: Map<string, MetricSeries[]>;
  onlyDifferences: boolean;
  onToggleDifferences: (on: boolean) => void;
}

interface MetricCell {
  best?: number;
  bestStep?: number;
  last?: number;
}

export function ComparisonTable({ comparison, series, onlyDifferences, onToggleDifferences }: Props) {
  const byRun = comparison.runs.map((r) => seriesByKey(series.get(r.id)));
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
            {rows.map((row) => {
              const goal = (row.goal ?? "max") as Goal;
              const cells: MetricCell[] = row.values.map((v, i) => {
                if (row.kind !== "metric") return {};
                const s = byRun[i].get(row.key);
                // A map step's row already holds its best item; a step's series gives its best epoch.
                if (!s) return { best: typeof v === "number" ? v : undefined };
                return { best: s.best.value, bestStep: s.best.step, last: s.final };
              });
              const best =
                row.kind === "metric"
                  ? bestIndex(
                      cells.map((c) => c.best),
                      goal,
                    )
                  : undefined;
              return (
                <tr key={`${row.kind}:${row.key}`} data-row={row.key} data-kind={row.kind} data-differs={row.differs}>
                  <th scope="row">
                    <span className="muted small">{row.kind}</span> {row.key}
                    {row.kind === "metric" && (
                      <span className="muted small"> ({goal === "min" ? "lower" : "higher"} is better)</span>
                    )}
                  </th>
                  {row.values.map((v, i) =>
                    row.kind === "metric" ? (
                      <MetricTd key={i} cell={cells[i]} best={best === i} />
                    ) : (
                      <td key={i} className="num">
                        {formatNumber(v ?? undefined)}
                      </td>
                    ),
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p className="muted">The runs have the same params, metrics and tags.</p>}
    </section>
  );
}

function MetricTd({ cell, best }: { cell: MetricCell; best: boolean }) {
  return (
    <td className={`num${best ? " best" : ""}`} data-best={best || undefined}>
      {best && (
        <span className="best-marker" aria-label="best" title="best of these runs">
          ★{" "}
        </span>
      )}
      {formatNumber(cell.best)}
      {cell.bestStep !== undefined && <span className="muted small"> @{cell.bestStep}</span>}
      {cell.last !== undefined && cell.last !== cell.best && (
        <div className="muted small" data-last>
          last {formatNumber(cell.last)}
        </div>
      )}
    </td>
  );
}
