/**
 * One model version: its metrics, params, gate verdicts with their evidence, and its lineage from
 * the model back through every step that made it to the landed files.
 */
import { Fragment, lazy, Suspense } from "react";
import { endpoints, links } from "../api/endpoints";
import { useApi } from "../api/use-api";
import type { GateVerdict, LineageNode, ModelLineage, VersionDetail } from "../api/types";
import { Loading } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { formatNumber, Time } from "../components/time";
import { Link, useTitle } from "../router";

const LineageGraph = lazy(() => import("../dag/lineage-graph"));

export default function ModelVersionPage({ model, version }: { model: string; version: string }) {
  useTitle(`${model} v${version}`);
  const v = useApi<VersionDetail>(endpoints.version(model, version));
  const lineage = useApi<ModelLineage>(endpoints.modelLineage(model, version));
  if (!v.data) return <Loading error={v.error} what={`${model}@${version}`} />;
  const d = v.data;
  return (
    <div>
      <h1>
        <Link href={links.model(model)}>{model}</Link> v{d.version}{" "}
        {d.aliases.map((a) => (
          <span key={a} className="badge s-running" style={{ marginRight: 4 }}>
            {a}
          </span>
        ))}
      </h1>
      <div className="grid2">
        <section className="panel">
          <h2 style={{ marginTop: 0 }}>Metrics</h2>
          <dl className="kv">
            {Object.entries(d.metrics).map(([k, x]) => (
              <Fragment key={k}>
                <dt>{k}</dt>
                <dd>{formatNumber(x)}</dd>
              </Fragment>
            ))}
          </dl>
          <h3>Made by</h3>
          <dl className="kv small">
            <dt>run</dt>
            <dd>{d.runId ? <Link href={links.run(d.runId)}>{d.runId}</Link> : "—"}</dd>
            <dt>registered</dt>
            <dd>
              <Time ms={d.createdAt} />
            </dd>
            <dt>artifact</dt>
            <dd className="mono">{d.artifactDigest}</dd>
            <dt>code</dt>
            <dd className="mono">{d.codeFingerprint ?? "—"}</dd>
            <dt>data</dt>
            <dd className="mono">{d.dataDigests.join(", ") || "—"}</dd>
          </dl>
          <details>
            <summary>params</summary>
            <pre className="mono">{JSON.stringify(d.params, null, 2)}</pre>
          </details>
        </section>
        <section className="panel" data-testid="version-gates">
          <h2 style={{ marginTop: 0 }}>Gate verdicts</h2>
          {d.gates.length === 0 ? (
            <p className="muted">No gates recorded.</p>
          ) : (
            d.gates.map((g) => <GateCard key={g.gate} gate={g} />)
          )}
        </section>
      </div>
      <section className="panel" aria-labelledby="lineage-h">
        <h2 id="lineage-h" style={{ marginTop: 0 }}>
          Lineage
        </h2>
        <p className="small muted">From the model back to the files it came from; each step links to its run.</p>
        {!lineage.data ? (
          <Loading error={lineage.error} what="lineage" />
        ) : (
          <>
            <Suspense fallback={<Loading what="lineage graph" />}>
              <LineageGraph root={lineage.data.artifact} />
            </Suspense>
            <details>
              <summary>as a list</summary>
              <ul className="lineage" data-testid="lineage">
                <LineageItem node={lineage.data.artifact} name="model" />
              </ul>
            </details>
          </>
        )}
      </section>
    </div>
  );
}

export function GateCard({ gate }: { gate: GateVerdict }) {
  return (
    <div style={{ marginBottom: 10 }}>
      <div>
        <StatusBadge status={gate.status} /> <strong>{gate.gate}</strong>{" "}
        {gate.kind && <span className="muted small">({gate.kind})</span>}
      </div>
      {gate.message && <div>{gate.message}</div>}
      {gate.evidence && (
        <dl className="kv small">
          {Object.entries(gate.evidence).map(([k, x]) => (
            <Fragment key={k}>
              <dt>{k}</dt>
              <dd>{typeof x === "object" ? JSON.stringify(x) : formatNumber(x)}</dd>
            </Fragment>
          ))}
        </dl>
      )}
    </div>
  );
}

function LineageItem({ node, name }: { node: LineageNode; name: string }) {
  const p = node.producedBy;
  return (
    <li>
      <span className="badge s-none">{node.kind ?? "artifact"}</span> <strong>{name}</strong>{" "}
      <span className="mono small muted">{node.digest.slice(0, 22)}…</span>
      {p ? (
        <>
          {" "}
          ← step <Link href={links.step(p.runId, p.stepId)}>{p.stepId}</Link>{" "}
          <span className="small muted">of run {p.runId}</span>
        </>
      ) : (
        <span className="small"> (landed file or external input)</span>
      )}
      {node.repeated && <span className="small muted"> (shown above)</span>}
      {p && p.inputs.length > 0 && (
        <ul>
          {p.inputs.map((i) => (
            <LineageItem key={i.name + i.node.digest} node={i.node} name={i.name} />
          ))}
        </ul>
      )}
    </li>
  );
}
