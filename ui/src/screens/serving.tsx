/**
 * Serving: per served alias, requests per window, latency percentiles, and the monitored metric
 * over time against its threshold (the performance monitor's view of production).
 */
import { endpoints, links } from "../api/endpoints";
import { useApi } from "../api/use-api";
import type { ModelList, ServingSeries } from "../api/types";
import { LineChart } from "../charts/line-chart";
import { Loading } from "../components/error-box";
import { formatNumber, formatTime } from "../components/time";
import { Link, useTitle } from "../router";

const clock = (ms: number) => formatTime(ms).slice(11, 16);

export default function Serving({ model, alias }: { model?: string; alias?: string }) {
  useTitle(model ? `Serving ${model}@${alias}` : "Serving");
  const models = useApi<ModelList>(endpoints.models());
  const served = (models.data?.models ?? []).flatMap((m) =>
    Object.keys(m.aliases).map((a) => ({ model: m.name, alias: a, version: m.aliases[a] })),
  );
  return (
    <div>
      <h1>Serving</h1>
      {!models.data ? (
        <Loading error={models.error} what="models" />
      ) : served.length === 0 ? (
        <p className="muted">No alias to serve yet.</p>
      ) : (
        <nav className="row" aria-label="Served aliases">
          {served.map((s) => (
            <Link
              key={`${s.model}@${s.alias}`}
              href={links.serving(s.model, s.alias)}
              className={`badge ${s.model === model && s.alias === alias ? "s-running" : "s-none"}`}
              aria-current={s.model === model && s.alias === alias ? "page" : undefined}
            >
              {s.model}@{s.alias} (v{s.version})
            </Link>
          ))}
        </nav>
      )}
      {model && alias && <SeriesPanel key={`${model}@${alias}`} model={model} alias={alias} />}
    </div>
  );
}

function SeriesPanel({ model, alias }: { model: string; alias: string }) {
  const series = useApi<ServingSeries>(endpoints.serving(model, alias));
  if (!series.data) return <Loading error={series.error} what={`the series of ${model}@${alias}`} />;
  const s = series.data;
  const mid = (w: { start: number; end: number }) => (w.start + w.end) / 2;
  const total = s.windows.reduce((a, w) => a + w.requests, 0);
  const pct = (k: "p50" | "p95" | "p99") =>
    s.windows.filter((w) => w[k] !== undefined).map((w) => [mid(w), w[k]!] as [number, number]);
  const mon = s.monitor;
  return (
    <div data-testid="serving-series">
      <p className="small">
        {formatNumber(total)} requests in {s.windows.length} windows of {Math.round(s.windowMs / 60000)} min.
      </p>
      <div className="grid2">
        <section className="panel">
          <h2 style={{ marginTop: 0 }}>Requests per window</h2>
          <LineChart
            label="requests per window"
            formatX={clock}
            series={[{ name: "requests", points: s.windows.map((w) => [mid(w), w.requests]) }]}
          />
        </section>
        <section className="panel">
          <h2 style={{ marginTop: 0 }}>Latency (ms)</h2>
          <LineChart
            label="latency percentiles"
            formatX={clock}
            series={[
              { name: "p50", points: pct("p50") },
              { name: "p95", points: pct("p95") },
              { name: "p99", points: pct("p99"), dashed: true },
            ]}
          />
        </section>
      </div>
      <section className="panel">
        <h2 style={{ marginTop: 0 }}>Monitored metric</h2>
        {!mon ? (
          <p className="muted">No performance monitor watches this alias.</p>
        ) : (
          <>
            <p className="small">
              {mon.metric} ({mon.direction}, threshold {mon.threshold}) by trigger{" "}
              <Link href={links.trigger(mon.trigger)}>{mon.trigger}</Link>
            </p>
            <LineChart
              label={`${mon.metric} over time`}
              formatX={clock}
              series={[
                {
                  name: mon.metric,
                  points: mon.windows.filter((w) => w.value !== undefined).map((w) => [mid(w), w.value!]),
                },
              ]}
              rules={[{ y: mon.threshold, label: `threshold ${mon.threshold}` }]}
            />
            <p className="small muted">
              {mon.windows.filter((w) => w.breach).length} window(s) breached the threshold.
            </p>
          </>
        )}
      </section>
    </div>
  );
}
