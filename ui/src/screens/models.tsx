/**
 * Models: each model's versions with their metrics side by side (best value marked, difference
 * to production shown), gate verdicts, the alias history (who, when, why, forced, pinned), and
 * promote / roll back / unpin with a reason.
 */
import { useState } from "react";
import { api } from "../api/client";
import { endpoints, links } from "../api/endpoints";
import { useLiveRefresh } from "../api/live";
import { useApi } from "../api/use-api";
import type { AliasChangeResponse, ModelDetail, ModelList, ModelVersion } from "../api/types";
import { ErrorBox, Loading } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { formatNumber, Time } from "../components/time";
import { Link, useTitle } from "../router";

export default function Models({ model }: { model?: string }) {
  useTitle(model ? `Model ${model}` : "Models");
  const list = useApi<ModelList>(endpoints.models());
  return (
    <div>
      <h1>Models</h1>
      {!list.data ? (
        <Loading error={list.error} what="models" />
      ) : list.data.models.length === 0 ? (
        <p className="muted">No model registered yet.</p>
      ) : (
        <nav className="row" aria-label="Models">
          {list.data.models.map((m) => (
            <Link
              key={m.name}
              href={links.model(m.name)}
              aria-current={m.name === model ? "page" : undefined}
              className={`badge ${m.name === model ? "s-running" : "s-none"}`}
            >
              {m.name} ({m.versionCount} versions{m.aliases.production ? `, production v${m.aliases.production}` : ""})
            </Link>
          ))}
        </nav>
      )}
      {model && <ModelPanel key={model} name={model} />}
    </div>
  );
}

function ModelPanel({ name }: { name: string }) {
  const detail = useApi<ModelDetail>(endpoints.model(name));
  useLiveRefresh((e) => e.type === "alias" || e.type === "run", detail.refresh, 500);
  if (!detail.data) return <Loading error={detail.error} what={`model ${name}`} />;
  const m = detail.data;
  return (
    <div>
      <section className="panel">
        <h2 style={{ marginTop: 0 }}>{m.name}</h2>
        <p>
          {Object.entries(m.aliases).map(([alias, v]) => {
            const pin = m.pins.find((p) => p.alias === alias)?.pin;
            return (
              <span key={alias} style={{ marginRight: 12 }}>
                <strong>{alias}</strong> → <Link href={links.version(m.name, v)}>v{v}</Link>
                {pin && (
                  <span className="badge s-paused" title={`${pin.by}: ${pin.reason ?? ""}`}>
                    {" "}
                    pinned
                  </span>
                )}
              </span>
            );
          })}
        </p>
        <VersionTable model={m} />
      </section>
      <AliasActions model={m} onChanged={detail.refresh} />
      <AliasHistory model={m} />
    </div>
  );
}

/** Metrics as columns; a metric whose name suggests lower-is-better is judged that way. */
function VersionTable({ model }: { model: ModelDetail }) {
  const versions = [...model.versions].sort((a, b) => b.version - a.version);
  const metrics = [
    ...new Set(versions.flatMap((v) => Object.keys(v.metrics).filter((k) => typeof v.metrics[k] === "number"))),
  ];
  const prod = versions.find((v) => v.version === model.aliases.production);
  const lowerBetter = (k: string) => /loss|error|rmse|mae|mse|latency|brier|logloss/i.test(k);
  const best = new Map(
    metrics.map((k) => {
      const vals = versions.map((v) => v.metrics[k]).filter((x): x is number => typeof x === "number");
      return [k, lowerBetter(k) ? Math.min(...vals) : Math.max(...vals)];
    }),
  );
  return (
    <div style={{ overflowX: "auto" }}>
      <table data-testid="versions">
        <thead>
          <tr>
            <th>version</th>
            <th>aliases</th>
            {metrics.map((k) => (
              <th key={k} className="num">
                {k}
                {lowerBetter(k) ? " ↓" : " ↑"}
              </th>
            ))}
            <th>gates</th>
            <th>run</th>
            <th>registered</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version}>
              <td>
                <Link href={links.version(model.name, v.version)}>v{v.version}</Link>
              </td>
              <td>
                {Object.entries(model.aliases)
                  .filter(([, n]) => n === v.version)
                  .map(([a]) => a)
                  .join(", ")}
              </td>
              {metrics.map((k) => {
                const x = v.metrics[k];
                const p = prod?.metrics[k];
                const diff = typeof x === "number" && typeof p === "number" && v !== prod ? x - p : undefined;
                return (
                  <td key={k} className="num" style={{ fontWeight: x === best.get(k) ? 700 : 400 }}>
                    {formatNumber(x)}
                    {diff !== undefined && (
                      <span
                        className="small"
                        style={{ color: (lowerBetter(k) ? diff < 0 : diff > 0) ? "var(--ok)" : "var(--fail)" }}
                      >
                        {" "}
                        ({diff > 0 ? "+" : ""}
                        {formatNumber(diff, 3)})
                      </span>
                    )}
                  </td>
                );
              })}
              <td>
                <GateSummary version={v} />
              </td>
              <td>
                {v.runId ? (
                  <Link href={links.run(v.runId)} className="mono small">
                    {v.runId}
                  </Link>
                ) : (
                  "—"
                )}
              </td>
              <td>
                <Time ms={v.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">Bold: best value of each metric. In brackets: difference to production.</p>
    </div>
  );
}

function GateSummary({ version }: { version: ModelVersion }) {
  if (!version.gates.length) return <span className="muted">—</span>;
  const failed = version.gates.filter((g) => g.status === "fail");
  return (
    <StatusBadge
      status={failed.length ? "fail" : "pass"}
      title={version.gates.map((g) => `${g.gate}: ${g.status} ${g.message ?? ""}`).join("\n")}
    />
  );
}

function AliasActions({ model, onChanged }: { model: ModelDetail; onChanged: () => void }) {
  const [version, setVersion] = useState(String(model.latestVersion));
  const [alias, setAlias] = useState("production");
  const [reason, setReason] = useState("");
  const [force, setForce] = useState(false);
  const [state, setState] = useState<{ busy?: boolean; error?: unknown; done?: string }>({});
  const run = async (what: "promote" | "rollback" | "unpin") => {
    if (!reason.trim())
      return setState({
        error: { code: "REASON_REQUIRED", message: "Say why: the reason goes into the alias history." },
      });
    setState({ busy: true });
    try {
      const name = model.name;
      const r =
        what === "promote"
          ? await api.post<AliasChangeResponse>(endpoints.promote(name), {
              version: Number(version),
              alias,
              reason,
              force: force || undefined,
            })
          : what === "rollback"
            ? await api.post<AliasChangeResponse>(endpoints.rollback(name), { alias, reason })
            : await api.post<unknown>(endpoints.unpin(name), { alias, reason });
      const moved = (r as AliasChangeResponse).alias;
      setState({ done: moved ? `${alias} → v${moved.version}` : `${alias} unpinned` });
      setReason("");
      onChanged();
    } catch (error) {
      setState({ error });
    }
  };
  return (
    <section className="panel" aria-labelledby="alias-h">
      <h2 id="alias-h" style={{ marginTop: 0 }}>
        Move an alias
      </h2>
      <div className="row">
        <label>
          Alias <input value={alias} onChange={(e) => setAlias(e.target.value)} name="alias" size={12} />
        </label>
        <label>
          Version{" "}
          <select value={version} onChange={(e) => setVersion(e.target.value)} name="version">
            {[...model.versions]
              .sort((a, b) => b.version - a.version)
              .map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version}
                </option>
              ))}
          </select>
        </label>
        <label>
          Reason <input value={reason} onChange={(e) => setReason(e.target.value)} name="reason" size={40} required />
        </label>
        <label>
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> force past failed gates
        </label>
      </div>
      <div className="row" style={{ marginTop: 8 }}>
        <button type="button" className="primary" onClick={() => void run("promote")} disabled={state.busy}>
          Promote
        </button>
        <button type="button" onClick={() => void run("rollback")} disabled={state.busy}>
          Roll back
        </button>
        <button type="button" onClick={() => void run("unpin")} disabled={state.busy}>
          Unpin
        </button>
      </div>
      {state.done && <p role="status">{state.done}</p>}
      {state.error !== undefined && <ErrorBox error={state.error} />}
    </section>
  );
}

function AliasHistory({ model }: { model: ModelDetail }) {
  const events = [...model.history].reverse();
  return (
    <section className="panel" aria-labelledby="history-h">
      <h2 id="history-h" style={{ marginTop: 0 }}>
        Alias history
      </h2>
      {events.length === 0 ? (
        <p className="muted">No alias has moved yet.</p>
      ) : (
        <table data-testid="alias-history">
          <thead>
            <tr>
              <th>when</th>
              <th>alias</th>
              <th>action</th>
              <th>move</th>
              <th>who</th>
              <th>why</th>
              <th>flags</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time ms={e.at} />
                </td>
                <td>{e.alias}</td>
                <td>{e.action}</td>
                <td>
                  {e.fromVersion !== undefined ? `v${e.fromVersion}` : "—"} →{" "}
                  {e.toVersion !== undefined ? `v${e.toVersion}` : "—"}
                </td>
                <td>
                  {e.user ?? e.actor}
                  {e.runId && (
                    <>
                      {" "}
                      (<Link href={links.run(e.runId)}>run</Link>)
                    </>
                  )}
                </td>
                <td>{e.reason ?? <span className="muted">—</span>}</td>
                <td>
                  {e.forced && <span className="badge s-fail">forced</span>}{" "}
                  {e.pinned && <span className="badge s-paused">pinned</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
