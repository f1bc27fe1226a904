/**
 * Overview: what ran and failed per pipeline, what is running and queued, whether the daemon is
 * healthy, and which model serves each pipeline's production alias with its live metric.
 */
import { useEffect } from "react";
import { useApi } from "../api/use-api";
import { endpoints, links } from "../api/endpoints";
import { useLiveRefresh } from "../api/live";
import type { DaemonHealth, ModelList, PipelineList, RunGrid, ServingSeries, VersionDetail } from "../api/types";
import { Loading } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { Ago, formatNumber } from "../components/time";
import { Sparkline } from "../charts/sparkline";
import { Link, useTitle } from "../router";
import { HistoryGrid } from "./history-grid";

export function Overview() {
  useTitle("Overview");
  const pipelines = useApi<PipelineList>(endpoints.pipelines());
  useLiveRefresh((e) => e.type === "run", pipelines.refresh, 500);
  return (
    <div>
      <h1>Overview</h1>
      <div className="grid2">
        <DaemonPanel />
        <ProductionPanel />
      </div>
      {!pipelines.data ? (
        <Loading error={pipelines.error} what="pipelines" />
      ) : pipelines.data.pipelines.length === 0 ? (
        <p className="muted">No pipelines yet: start `trainyard ui` with a pipeline module, or run one.</p>
      ) : (
        pipelines.data.pipelines.map((p) => <PipelineHistory key={p.name} name={p.name} />)
      )}
    </div>
  );
}

function PipelineHistory({ name }: { name: string }) {
  const grid = useApi<RunGrid>(endpoints.grid(name, 40));
  // Run events of the home's stream name their pipeline; a step's end shows at its run's next state.
  useLiveRefresh((e) => e.type === "run" && e.data.pipeline === name, grid.refresh, 300);
  const active = grid.data?.runs.some((r) => r.status === "running" || r.status === "queued");
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(grid.refresh, 2000);
    return () => window.clearInterval(t);
  }, [active, grid.refresh]);
  return (
    <section className="panel" aria-labelledby={`p-${name}`}>
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 id={`p-${name}`} style={{ margin: 0 }}>
          {name}
        </h2>
        <div className="row">
          <Link href={`/runs?pipeline=${encodeURIComponent(name)}`}>all runs</Link>
          <Link href={links.launch(name)}>launch…</Link>
        </div>
      </div>
      {grid.data ? <HistoryGrid grid={grid.data} /> : <Loading error={grid.error} what="run history" />}
    </section>
  );
}

function DaemonPanel() {
  const health = useApi<DaemonHealth>(endpoints.health());
  useLiveRefresh((e) => e.type === "run" || e.type === "tick", health.refresh, 500);
  const h = health.data;
  return (
    <section className="panel" aria-labelledby="daemon-h">
      <h2 id="daemon-h" style={{ marginTop: 0 }}>
        Daemon and queue
      </h2>
      {!h ? (
        <Loading error={health.error} what="daemon health" />
      ) : (
        <>
          <p>
            <StatusBadge status={h.state === "ok" ? "healthy" : h.state} />{" "}
            {h.leader ? (
              <>
                leader {h.leader.process}, heartbeat <Ago ms={h.leader.heartbeatAt} />
              </>
            ) : (
              "no daemon running"
            )}
          </p>
          {h.problems.length > 0 && (
            <ul>
              {h.problems.map((p) => (
                <li key={p} className="small">
                  {p}
                </li>
              ))}
            </ul>
          )}
          <h3>Running ({h.running.length})</h3>
          <RunRefs runs={h.running} />
          <h3>Queued ({h.queued.length})</h3>
          <RunRefs runs={h.queued} />
        </>
      )}
    </section>
  );
}

function RunRefs({ runs }: { runs: Array<{ runId: string; pipeline: string; trigger: string }> }) {
  if (!runs.length) return <p className="muted small">none</p>;
  return (
    <ul className="small">
      {runs.slice(0, 8).map((r) => (
        <li key={r.runId}>
          <Link href={links.run(r.runId)}>{r.runId}</Link> {r.pipeline} <span className="muted">({r.trigger})</span>
        </li>
      ))}
      {runs.length > 8 && <li className="muted">and {runs.length - 8} more</li>}
    </ul>
  );
}

function ProductionPanel() {
  const models = useApi<ModelList>(endpoints.models());
  useLiveRefresh((e) => e.type === "alias", models.refresh, 500);
  const serving = (models.data?.models ?? []).filter((m) => m.aliases.production !== undefined);
  return (
    <section className="panel" aria-labelledby="prod-h">
      <h2 id="prod-h" style={{ marginTop: 0 }}>
        In production
      </h2>
      {!models.data ? (
        <Loading error={models.error} what="models" />
      ) : serving.length === 0 ? (
        <p className="muted">No model has a production alias yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>model</th>
              <th>version</th>
              <th>pipeline</th>
              <th>metric</th>
              <th>live</th>
            </tr>
          </thead>
          <tbody>
            {serving.map((m) => (
              <ProductionRow key={m.name} model={m.name} version={m.aliases.production} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The metric a row shows first, when the model has it. */
const HEADLINE_METRICS = ["auc", "roc_auc", "f1", "accuracy", "r2", "rmse", "mae"];

function ProductionRow({ model, version }: { model: string; version: number }) {
  const v = useApi<VersionDetail>(endpoints.version(model, version));
  const series = useApi<ServingSeries>(endpoints.serving(model, "production"));
  const run = useApi<{ run: { pipeline: string } }>(v.data?.runId ? endpoints.run(v.data.runId) : undefined);
  const numeric = Object.entries(v.data?.metrics ?? {}).filter(([, x]) => typeof x === "number");
  const [metric, value] = HEADLINE_METRICS.map((k) => numeric.find(([n]) => n === k)).find(Boolean) ?? numeric[0] ?? [];
  const live = (series.data?.monitor?.windows ?? [])
    .map((w) => w.value)
    .filter((x): x is number => typeof x === "number");
  return (
    <tr>
      <td>
        <Link href={links.model(model)}>{model}</Link>
      </td>
      <td>
        <Link href={links.version(model, version)}>v{version}</Link>
      </td>
      <td>{run.data?.run.pipeline ?? "—"}</td>
      <td>
        {metric ? (
          <>
            {metric} {formatNumber(value)}
          </>
        ) : (
          "—"
        )}
      </td>
      <td>
        {series.data?.monitor && live.length ? (
          <Link href={links.serving(model, "production")} className="row" style={{ gap: 4 }}>
            {series.data.monitor.metric} {formatNumber(live[live.length - 1])}
            <Sparkline values={live.slice(-20)} label={`${series.data.monitor.metric} over recent windows`} />
          </Link>
        ) : (
          <span className="muted small">not monitored</span>
        )}
      </td>
    </tr>
  );
}
