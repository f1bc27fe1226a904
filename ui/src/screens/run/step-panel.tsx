/**
 * One step of a run: its state, the error and its hint, why it ran or was reused, its attempts
 * and its log. Tabs and the chosen attempt are part of the URL, so every view can be linked.
 */
import { useEffect } from "react";
import { endpoints, links } from "../../api/endpoints";
import { useApi } from "../../api/use-api";
import type { StepDetail, Why } from "../../api/types";
import { ErrorBox } from "../../components/error-box";
import { StatusBadge } from "../../components/status";
import { formatDuration, Time } from "../../components/time";
import { Link, navigate, useLocation } from "../../router";
import { LogView } from "./log-view";
import type { StepState } from "./live-steps";
import { keyedByText } from "../../components/text-keys";

const TABS = ["summary", "logs", "attempts"] as const;

export function StepPanel({ runId, stepId, live }: { runId: string; stepId: string; live?: StepState }) {
  // Attempts, items and the cache decision: this step's own record, read again when its state moves.
  const loaded = useApi<StepDetail>(endpoints.runStep(runId, stepId));
  const { refresh } = loaded;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new state or attempt is when to read the record again.
  useEffect(refresh, [live?.status, live?.attempts, refresh]);
  const detail = loaded.data;
  const { query, hash, path } = useLocation();
  const tab = (query.get("tab") as (typeof TABS)[number]) ?? "summary";
  const attempt = query.get("attempt") ? Number(query.get("attempt")) : undefined;
  const target = hash.startsWith("L") ? Number(hash.slice(1)) : undefined;
  const status = live?.status ?? detail?.status ?? "pending";
  const cached = live?.cached ?? detail?.cached ?? false;
  const error = live?.error ?? detail?.error;
  const setTab = (t: string) => {
    const q = new URLSearchParams(query);
    q.set("tab", t);
    navigate(`${path}?${q}`, { replace: true });
  };
  return (
    <aside className="panel" aria-labelledby="step-h" data-testid="step-panel">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 id="step-h" style={{ margin: 0 }}>
          {stepId}
        </h2>
        <Link href={links.run(runId)} aria-label="Close the step panel">
          ✕
        </Link>
      </div>
      <p>
        <StatusBadge status={cached ? "reused" : status} /> {live?.attempts ?? detail?.attempts ?? 0} attempt(s),{" "}
        {formatDuration(live?.durationMs ?? detail?.durationMs)}
      </p>
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button type="button" key={t} role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </div>
      {tab === "summary" && (
        <div role="tabpanel">
          {error && <ErrorBox error={error} />}
          <CacheWhy key={status} runId={runId} stepId={stepId} fallback={detail?.cache.reason} status={status} />
          <dl className="kv small">
            <dt>started</dt>
            <dd>
              <Time ms={live?.startedAt ?? detail?.startedAt} />
            </dd>
            <dt>finished</dt>
            <dd>
              <Time ms={live?.finishedAt ?? detail?.finishedAt} />
            </dd>
            {detail?.cache.from && (
              <>
                <dt>reused from</dt>
                <dd className="mono">{detail.cache.from}</dd>
              </>
            )}
            {detail?.outputDigest && (
              <>
                <dt>output</dt>
                <dd className="mono">{detail.outputDigest.slice(0, 24)}…</dd>
              </>
            )}
            {detail && detail.itemRecords.length > 0 && (
              <>
                <dt>items</dt>
                <dd>
                  {detail.itemRecords.length} ({detail.itemRecords.filter((i) => i.cached).length} reused,{" "}
                  {detail.itemRecords.filter((i) => i.status === "failed").length} failed)
                </dd>
              </>
            )}
          </dl>
        </div>
      )}
      {tab === "logs" && <LogView runId={runId} stepId={stepId} attempt={attempt} target={target} />}
      {tab === "attempts" && (
        <table role="tabpanel">
          <thead>
            <tr>
              <th>#</th>
              <th>status</th>
              <th>started</th>
              <th>took</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {(detail?.attemptRecords ?? []).map((a) => (
              <tr key={a.attempt}>
                <td>
                  <Link href={links.step(runId, stepId, { attempt: a.attempt, tab: "logs" })}>{a.attempt}</Link>
                </td>
                <td>
                  <StatusBadge status={a.status} />
                </td>
                <td>
                  <Time ms={a.startedAt} />
                </td>
                <td>{formatDuration(a.finishedAt !== undefined ? a.finishedAt - a.startedAt : undefined)}</td>
                <td className="small">{a.error ? `${a.error.code}: ${a.error.message}` : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </aside>
  );
}

/** Why the step ran, was reused or skipped: the engine's own explanation, reason by reason. */
function CacheWhy({
  runId,
  stepId,
  fallback,
  status,
}: {
  runId: string;
  stepId: string;
  fallback?: string;
  status: string;
}) {
  const why = useApi<Why>(status === "running" || status === "pending" ? undefined : endpoints.why(runId, stepId));
  const reasons = why.data?.reasons ?? (fallback ? [fallback] : []);
  return (
    <section aria-label="Cache decision" data-testid="why">
      <h3>Why {why.data ? <span className="badge s-none">{why.data.decision}</span> : null}</h3>
      {reasons.length ? (
        <ul>
          {keyedByText(reasons, (r) => r).map(({ key, item }) => (
            <li key={key}>{item}</li>
          ))}
        </ul>
      ) : (
        <p className="muted small">
          {status === "running" || status === "pending" ? "Decided when the step starts." : "No reason recorded."}
        </p>
      )}
    </section>
  );
}
