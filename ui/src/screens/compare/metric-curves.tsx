/**
 * One chart per metric recorded over steps (epochs): a curve per picked run, overlaid, with each
 * run's best point circled (best by the metric's goal, which is not always the last point).
 */
import type { MetricSeries, RunComparison } from "../../api/types";
import { LineChart } from "../../charts/line-chart";
import { formatNumber } from "../../components/time";
import { runLabel } from "./compare-data";

const MAX_CHARTS = 8;

export function MetricCurves({
  comparison,
  series,
}: {
  comparison: RunComparison;
  series: Map<string, MetricSeries[]>;
}) {
  const keys: string[] = [];
  for (const r of comparison.runs) {
    for (const s of series.get(r.id) ?? []) {
      const key = `${s.stepId}.${s.name}`;
      if (s.points.filter((p) => p.step !== undefined).length > 1 && !keys.includes(key)) keys.push(key);
    }
  }
  if (!keys.length) return null;
  return (
    <section className="panel" aria-label="Metric curves">
      <h2 style={{ marginTop: 0 }}>Metric curves</h2>
      <div className="curve-grid">
        {keys.slice(0, MAX_CHARTS).map((key) => {
          const lines = comparison.runs.flatMap((r) => {
            const s = (series.get(r.id) ?? []).find((x) => `${x.stepId}.${x.name}` === key);
            return s ? [{ run: r.id, s }] : [];
          });
          const marks = lines.flatMap(({ run, s }, i) =>
            s.best.step === undefined
              ? []
              : [
                  {
                    x: s.best.step,
                    y: s.best.value,
                    series: i,
                    label: `${runLabel(run)} best ${formatNumber(s.best.value)} at ${s.best.step}`,
                  },
                ],
          );
          return (
            <div key={key} className="curve" data-metric={key}>
              <h3 className="small" style={{ margin: "4px 0" }}>
                {key}{" "}
                <span className="muted">({lines[0]?.s.goal === "min" ? "lower" : "higher"} is better; ○ best)</span>
              </h3>
              <LineChart
                label={`${key} over steps`}
                width={420}
                height={180}
                series={lines.map(({ run, s }) => ({
                  name: runLabel(run),
                  points: s.points.filter((p) => p.step !== undefined).map((p) => [p.step!, p.value]),
                }))}
                marks={marks}
              />
            </div>
          );
        })}
      </div>
      {keys.length > MAX_CHARTS && <p className="muted small">{keys.length - MAX_CHARTS} more metrics not drawn.</p>}
    </section>
  );
}
