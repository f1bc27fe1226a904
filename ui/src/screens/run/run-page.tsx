/**
 * A run: its status and what started it, the DAG with live step states, the timeline, the steps
 * as a list (the keyboard's way through a large graph), the selected step's panel, and the
 * actions a person takes on a run (cancel, resume, re-run from the failure).
 */
import { lazy, Suspense, useMemo, useState } from "react";
import { api, ApiError } from "../../api/client";
import { endpoints, links } from "../../api/endpoints";
import type { RunActionResponse, RunOverview } from "../../api/types";
import { AmbiguousRunChoice, ambiguousRunOf } from "../../components/ambiguous-run";
import { ErrorBox, Loading } from "../../components/error-box";
import { StatusBadge } from "../../components/status";
import { formatDuration, Time } from "../../components/time";
import { RUN_SUMMARY_TIMING } from "../../dag/element-timing";
import { navigate, useLocation, useTitle } from "../../router";
import { Gantt } from "./gantt";
import { useLiveRun, type LiveRun, type StepState } from "./live-steps";
import { StepPanel } from "./step-panel";
import { StepTable } from "./step-table";

// Fetched as soon as the run page is, alongside the run's overview rather than after it.
const dagViewChunk = import("../../dag/dag-view");
const DagView = lazy(() => dagViewChunk);
const VIEWS = ["graph", "timeline", "list"] as const;

export default function RunPage({ runId, stepId }: { runId: string; stepId?: string }) {
  useTitle(stepId ? `${stepId} · run ${runId}` : `Run ${runId}`);
  const live = useLiveRun(runId);
  const { query } = useLocation();
  const view = (query.get("view") as (typeof VIEWS)[number]) ?? "graph";

  // Steps are only added, so their count stands for their ids; a state change must not rebuild the graph.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the step count stands for the step ids
  const shape = useMemo(() => {
    const ids = new Set<string>();
    const edges: Array<{ source: string; target: string }> = [];
    for (const n of live.graph?.nodes ?? []) ids.add(n.id);
    for (const s of live.steps.keys()) ids.add(s);
    for (const e of live.graph?.edges ?? []) {
      if (ids.has(e.from) && ids.has(e.to)) edges.push({ source: e.from, target: e.to });
    }
    const unique = new Map(edges.map((e) => [`${e.source}>${e.target}`, e]));
    return { nodes: [...ids], edges: [...unique.values()] };
  }, [live.graph, live.steps.size]);
  const guards = useMemo(
    () => new Set((live.graph?.nodes ?? []).filter((n) => n.guard).map((n) => n.id)),
    [live.graph],
  );
  const ranks = useMemo(
    () => new Map((live.graph?.nodes ?? []).map((n) => [n.id, { rank: n.rank, order: n.order }])),
    [live.graph],
  );
  const dagSteps = useMemo(() => {
    const m = new Map<string, { id: string; status: string; cached: boolean; guard: boolean }>();
    for (const id of shape.nodes) {
      const s = live.steps.get(id);
      m.set(id, { id, status: s?.status ?? "pending", cached: s?.cached ?? false, guard: guards.has(id) });
    }
    return m;
  }, [shape, live.steps, guards]);

  if (!live.overview) {
    if (live.error instanceof ApiError && live.error.status === 404) {
      return (
        <p className="muted" aria-busy="true">
          Run {runId} is queued: waiting for it to start…
        </p>
      );
    }
    const ambiguity = ambiguousRunOf(live.error);
    if (ambiguity) {
      const linkTo = (id: string) => (stepId ? links.step(id, stepId) : links.run(id));
      return <AmbiguousRunChoice prefix={runId} ambiguity={ambiguity} linkTo={linkTo} />;
    }
    return <Loading error={live.error} what={`run ${runId}`} />;
  }
  const d = live.overview;
  const status = live.runStatus ?? d.run.status;
  const select = (id: string) => navigate(links.step(runId, id, { view: view !== "graph" ? view : undefined }));
  const setView = (v: string) => {
    const q = new URLSearchParams(query);
    q.set("view", v);
    navigate(`${location.pathname}?${q}`, { replace: true });
  };
  const counts = countStates(live.steps);
  return (
    <div>
      <RunHeader detail={d} status={status} counts={counts} onChanged={live.reload} />
      {d.gates.length > 0 && <GateVerdicts gates={d.gates} />}
      {d.guardNote && <p className="panel small">{d.guardNote}</p>}
      <div className={stepId ? "run-layout" : undefined}>
        <div style={{ minWidth: 0 }}>
          <div className="tabs" role="tablist" aria-label="Run views">
            {VIEWS.map((v) => (
              <button type="button" key={v} role="tab" aria-selected={view === v} onClick={() => setView(v)}>
                {v}
              </button>
            ))}
          </div>
          {view === "graph" &&
            (live.graphError && !live.graph ? (
              <ErrorBox
                error={live.graphError}
                title="The pipeline's graph is not available; the list and timeline still are"
              />
            ) : !live.graph ? (
              <Loading what="graph" />
            ) : (
              <Suspense fallback={<Loading what="graph view" />}>
                <DagView
                  graph={shape}
                  digest={live.graph.digest}
                  ranks={ranks}
                  steps={dagSteps}
                  selected={stepId}
                  onSelect={select}
                />
              </Suspense>
            ))}
          {view === "timeline" && (
            <Gantt
              steps={live.steps}
              order={shape.nodes}
              running={status === "running"}
              onSelect={select}
              stepHref={(id) => links.step(runId, id, { view })}
              selected={stepId}
            />
          )}
          {view === "list" && <StepTable runId={runId} order={shape.nodes} steps={live.steps} selected={stepId} />}
        </div>
        {stepId && <StepPanel key={stepId} runId={runId} stepId={stepId} live={live.steps.get(stepId)} />}
      </div>
    </div>
  );
}

function countStates(steps: Map<string, StepState>): Record<string, number> {
  const c: Record<string, number> = {};
  for (const s of steps.values()) {
    const k = s.cached ? "reused" : s.status;
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

function RunHeader({
  detail,
  status,
  counts,
  onChanged,
}: {
  detail: NonNullable<LiveRun["overview"]>;
  status: string;
  counts: Record<string, number>;
  onChanged: () => void;
}) {
  const r = detail.run;
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok?: string; error?: unknown }>();
  const act = async (action: "cancel" | "resume" | "rerun") => {
    setBusy(true);
    setResult(undefined);
    try {
      const res = await api.post<RunActionResponse & { runId: string }>(endpoints.runAction(r.id, action), {});
      setResult({ ok: res.message ?? res.action });
      if (res.runId && res.runId !== r.id) navigate(links.run(res.runId));
      onChanged();
    } catch (error) {
      setResult({ error });
    } finally {
      setBusy(false);
    }
  };
  const active = status === "running" || status === "queued";
  const failed = status === "failed" || status === "interrupted" || status === "cancelled" || status === "rejected";
  return (
    <section className="panel" data-testid="run-summary" aria-labelledby="run-h">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h1 id="run-h" style={{ margin: 0 }} elementtiming={RUN_SUMMARY_TIMING}>
          {r.pipeline} <span className="mono muted">{r.id}</span> <StatusBadge status={status} />
        </h1>
        <div className="row">
          <button type="button" onClick={() => act("cancel")} disabled={!active || busy} className="danger">
            Cancel
          </button>
          <button type="button" onClick={() => act("resume")} disabled={!failed || busy}>
            Resume
          </button>
          <button type="button" onClick={() => act("rerun")} disabled={!failed || busy}>
            Re-run from failure
          </button>
        </div>
      </div>
      <p className="small">
        started by <strong>{detail.trigger.text}</strong>
        {r.profile && (
          <>
            {" "}
            · profile <strong>{r.profile}</strong>
          </>
        )}{" "}
        · created <Time ms={r.createdAt} />
        {r.startedAt && r.finishedAt && <> · took {formatDuration(r.finishedAt - r.startedAt)}</>}
        {detail.owner && <> · owned by {detail.owner.process}</>}
      </p>
      <ul className="small inline-list" aria-label="Step states" data-testid="step-counts">
        {Object.entries(counts).map(([k, n]) => (
          <li key={k}>
            <StatusBadge status={k} /> {n}
          </li>
        ))}
      </ul>
      {r.error && <ErrorBox error={r.error} />}
      {result?.ok && (
        <p role="status" className="small">
          {result.ok}
        </p>
      )}
      {result?.error !== undefined && <ErrorBox error={result.error} />}
      <details className="small">
        <summary>params</summary>
        <pre className="mono">{JSON.stringify(r.params, null, 2)}</pre>
      </details>
    </section>
  );
}

function GateVerdicts({ gates }: { gates: RunOverview["gates"] }) {
  return (
    <section className="panel" aria-labelledby="gates-h" data-testid="gate-verdicts">
      <h2 id="gates-h" style={{ marginTop: 0 }}>
        Gate verdicts
      </h2>
      <table>
        <thead>
          <tr>
            <th>gate step</th>
            <th>gate</th>
            <th>verdict</th>
            <th>why</th>
          </tr>
        </thead>
        <tbody>
          {gates.flatMap((g) =>
            g.verdicts.map((v) => (
              <tr key={`${g.step}/${v.gate}`}>
                <td>{g.step}</td>
                <td>{v.gate}</td>
                <td>
                  <StatusBadge status={v.status} />
                </td>
                <td>{v.message}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </section>
  );
}
