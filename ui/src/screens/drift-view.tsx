/** A drift report at a glance: verdict, schema changes, PSI/KS per column vs thresholds, overlaid histograms. */
import type { ColumnDrift } from "../api/types";
import { HistogramOverlay, type Bin } from "../charts/histogram-overlay";
import { ThresholdBar } from "../charts/threshold-bar";
import { StatusBadge } from "../components/status";
import { formatNumber } from "../components/time";
import type { DriftBody } from "./data";

export function DriftView({ report }: { report: DriftBody }) {
  const cols = [...report.columns].sort((a, b) => rankVerdict(b.verdict) - rankVerdict(a.verdict));
  const s = report.schema;
  return (
    <div data-testid="drift-report">
      <section className="panel">
        <h2 style={{ marginTop: 0 }}>
          Drift <StatusBadge status={report.verdict} />
        </h2>
        <p className="small">
          reference {report.reference} ({formatNumber(report.rowCount.reference)} rows) vs current {report.current} (
          {formatNumber(report.rowCount.current)} rows). {cols.filter((c) => c.verdict !== "pass").length} of{" "}
          {cols.length} columns drifted.
        </p>
        {(s.added.length > 0 || s.removed.length > 0 || s.retyped.length > 0) && (
          <p className="small">
            Schema <StatusBadge status={s.verdict} />:{" "}
            {s.added.length > 0 && <>added {s.added.map((c) => c.name).join(", ")}; </>}
            {s.removed.length > 0 && <>removed {s.removed.map((c) => c.name).join(", ")}; </>}
            {s.retyped.map((r) => `${r.name} ${r.from} → ${r.to}`).join(", ")}
          </p>
        )}
        <table>
          <thead>
            <tr>
              <th>column</th>
              <th>kind</th>
              <th>PSI (threshold)</th>
              <th>KS (threshold)</th>
              <th>other</th>
              <th>verdict</th>
            </tr>
          </thead>
          <tbody>
            {cols.map((c) => (
              <tr key={c.name}>
                <td>
                  <a href={`#col-${c.name}`}>{c.name}</a>
                </td>
                <td>{c.kind}</td>
                <td>
                  <Stat col={c} stat="psi" />
                </td>
                <td>
                  <Stat col={c} stat="ksStatistic" />
                </td>
                <td className="small">{otherStats(c)}</td>
                <td>
                  <StatusBadge status={c.verdict} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <div style={{ display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(440px, 1fr))", gap: 12 }}>
        {cols
          .filter((c) => c.chart)
          .map((c) => (
            <section key={c.name} id={`col-${c.name}`} className="panel">
              <h3 style={{ marginTop: 0 }}>
                {c.name} <StatusBadge status={c.verdict} />
              </h3>
              <HistogramOverlay bins={binsOf(c)} label={`${c.name}: reference vs current`} />
              {c.categories && (c.categories.newCount > 0 || c.categories.vanishedCount > 0) && (
                <p className="small">
                  new: {c.categories.newExamples.join(", ") || "—"} · vanished:{" "}
                  {c.categories.vanishedExamples.join(", ") || "—"}
                </p>
              )}
            </section>
          ))}
      </div>
    </div>
  );
}

function Stat({ col, stat }: { col: ColumnDrift; stat: string }) {
  const o = col.stats[stat];
  if (!o || o.value === null) return <span className="muted">—</span>;
  return (
    <span className="row" style={{ gap: 6 }} data-stat={stat} data-verdict={o.verdict}>
      <ThresholdBar value={o.value} threshold={o.threshold ?? undefined} label={`${col.name} ${stat}`} />
      <span className="small mono">
        {formatNumber(o.value, 3)}
        {o.threshold !== null && ` (${o.threshold})`}
      </span>
    </span>
  );
}

function otherStats(c: ColumnDrift): string {
  return Object.entries(c.stats)
    .filter(([k, o]) => k !== "psi" && k !== "ksStatistic" && o.value !== null)
    .map(([k, o]) => `${k} ${formatNumber(o.value, 3)}${o.verdict !== "pass" ? ` (${o.verdict})` : ""}`)
    .join(", ");
}

function binsOf(c: ColumnDrift): Bin[] {
  const ch = c.chart!;
  const labels =
    ch.kind === "histogram" && ch.edges
      ? ch.reference.map((_, i) => formatNumber(ch.edges![i], 3))
      : (ch.labels ?? ch.reference.map((_, i) => String(i)));
  return ch.reference.map((r, i) => ({ label: labels[i], reference: r, current: ch.current[i] ?? 0 }));
}

function rankVerdict(v: string): number {
  return v === "fail" ? 2 : v === "warn" ? 1 : 0;
}
