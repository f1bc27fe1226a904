/**
 * Data: the profiles, drift results and contract checks of recent runs, and one report in full:
 * reference vs current histograms overlaid, PSI and KS per column against their thresholds,
 * contract violations with example rows.
 */
import { endpoints, links } from "../api/endpoints";
import { useApi } from "../api/use-api";
import type { ColumnDrift, DataReport, DataReportList } from "../api/types";
import { HistogramOverlay, type Bin } from "../charts/histogram-overlay";
import { AmbiguousRunChoice, ambiguousRunOf } from "../components/ambiguous-run";
import { Loading } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { formatNumber, Time } from "../components/time";
import { Link, navigate, useLocation, useTitle } from "../router";
import { DriftView } from "./drift-view";
import { keyedByText } from "../components/text-keys";

export default function DataPage({ report }: { report?: { run: string; step: string; index: string } }) {
  useTitle(report ? `Data report ${report.step}` : "Data");
  if (report) return <ReportPage run={report.run} step={report.step} index={Number(report.index)} />;
  return <ReportList />;
}

function ReportList() {
  const { query } = useLocation();
  const kind = query.get("kind") ?? "";
  const list = useApi<DataReportList>(endpoints.dataReports({ kind: kind || undefined, limit: 50 }));
  return (
    <div>
      <h1>Data</h1>
      <label className="row">
        Kind{" "}
        <select value={kind} onChange={(e) => navigate(e.target.value ? `/data?kind=${e.target.value}` : "/data")}>
          <option value="">all</option>
          <option value="drift">drift</option>
          <option value="profile">profile</option>
          <option value="contract">contract</option>
        </select>
      </label>
      {!list.data ? (
        <Loading error={list.error} what="data reports" />
      ) : list.data.reports.length === 0 ? (
        <p className="muted">No profile, drift or contract report in recent runs.</p>
      ) : (
        <table data-testid="data-reports">
          <thead>
            <tr>
              <th>report</th>
              <th>kind</th>
              <th>pipeline</th>
              <th>run</th>
              <th>summary</th>
              <th>when</th>
            </tr>
          </thead>
          <tbody>
            {list.data.reports.map((r) => (
              <tr key={`${r.runId}/${r.step}/${r.index}`}>
                <td>
                  <Link href={links.dataReport(r.runId, r.step, r.index)}>
                    {r.step}
                    {r.index ? ` #${r.index}` : ""}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={r.alert ? "fail" : "ok"} title={r.alert ? "alert" : "no alert"} /> {r.kind}
                </td>
                <td>{r.pipeline}</td>
                <td>
                  <Link href={links.run(r.runId)} className="mono small">
                    {r.runId}
                  </Link>
                </td>
                <td className="small">{r.summary}</td>
                <td>
                  <Time ms={r.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function ReportPage({ run, step, index }: { run: string; step: string; index: number }) {
  const r = useApi<DataReport>(endpoints.dataReport(run, step, index));
  if (!r.data) {
    const ambiguity = ambiguousRunOf(r.error);
    // A prefix of several runs: the same report of each of them.
    if (ambiguity) {
      const linkTo = (id: string) => links.dataReport(id, step, index);
      return <AmbiguousRunChoice prefix={run} ambiguity={ambiguity} linkTo={linkTo} />;
    }
    return <Loading error={r.error} what="the report" />;
  }
  const d = r.data;
  const body = d.report as Record<string, unknown>;
  return (
    <div>
      <h1>
        {d.kind} report: {d.step}
      </h1>
      <p className="small">
        {d.pipeline}, run <Link href={links.step(d.runId, d.step)}>{d.runId}</Link>, <Time ms={d.createdAt} /> ·{" "}
        {d.summary} ·{" "}
        <a href={`/api/v1${endpoints.report(d.digest)}`} target="_blank" rel="noreferrer">
          HTML report
        </a>
      </p>
      {body.kind === "trainyard.drift" && <DriftView report={body as unknown as DriftBody} />}
      {body.kind === "trainyard.contract" && <ContractView report={body as unknown as ContractBody} />}
      {body.kind === "trainyard.profile" && <ProfileView report={body as unknown as ProfileBody} />}
    </div>
  );
}

export interface DriftBody {
  reference: string;
  current: string;
  rowCount: { reference: number; current: number };
  schema: {
    added: Array<{ name: string }>;
    removed: Array<{ name: string }>;
    retyped: Array<{ name: string; from: string; to: string }>;
    verdict: string;
  };
  columns: ColumnDrift[];
  verdict: string;
}

interface ContractBody {
  contract?: string;
  source: string;
  rowCount: number;
  passed: boolean;
  violations: Array<{
    column?: string;
    rule: string;
    expected: string;
    found: string;
    count: number | null;
    examples: Array<{ row: number; value: string | null }>;
  }>;
}

function ContractView({ report }: { report: ContractBody }) {
  return (
    <section className="panel" data-testid="contract-report">
      <h2 style={{ marginTop: 0 }}>
        Contract {report.contract ?? ""} <StatusBadge status={report.passed ? "pass" : "fail"} />
      </h2>
      <p className="small">
        {report.source}: {formatNumber(report.rowCount)} rows, {report.violations.length} violation(s).
      </p>
      {report.violations.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>column</th>
              <th>rule</th>
              <th>expected</th>
              <th>found</th>
              <th className="num">rows</th>
              <th>examples (row: value)</th>
            </tr>
          </thead>
          <tbody>
            {keyedByText(report.violations, (v) => `${v.column}|${v.rule}|${v.expected}|${v.found}`).map(
              ({ key, item: v }) => (
                <tr key={key}>
                  <td>{v.column ?? "(table)"}</td>
                  <td>{v.rule}</td>
                  <td>{v.expected}</td>
                  <td>{v.found}</td>
                  <td className="num">{v.count ?? "—"}</td>
                  <td className="mono small">{v.examples.map((e) => `${e.row}: ${e.value ?? "null"}`).join(", ")}</td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface ProfileBody {
  source: string;
  rowCount: number;
  columns: Array<{
    name: string;
    type: string;
    kind: string;
    count: number;
    nullCount: number;
    distinctCount: number | null;
    min: number | string | null;
    max: number | string | null;
    mean?: number | null;
    std?: number | null;
    histogram?: { edges: number[]; counts: number[] };
    topK?: { values: Array<{ value: string; count: number }> };
  }>;
}

function ProfileView({ report }: { report: ProfileBody }) {
  return (
    <section className="panel" data-testid="profile-report">
      <p className="small">
        {report.source}: {formatNumber(report.rowCount)} rows, {report.columns.length} columns.
      </p>
      <table>
        <thead>
          <tr>
            <th>column</th>
            <th>type</th>
            <th className="num">nulls</th>
            <th className="num">distinct</th>
            <th className="num">min</th>
            <th className="num">mean</th>
            <th className="num">max</th>
            <th>distribution</th>
          </tr>
        </thead>
        <tbody>
          {report.columns.map((c) => {
            const bins: Bin[] = c.histogram
              ? c.histogram.counts.map((n, i) => ({
                  label: formatNumber(c.histogram!.edges[i], 3),
                  reference: n,
                  current: 0,
                }))
              : (c.topK?.values ?? []).map((v) => ({ label: v.value, reference: v.count, current: 0 }));
            return (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td className="small">{c.type}</td>
                <td className="num">{formatNumber(c.nullCount)}</td>
                <td className="num">{formatNumber(c.distinctCount)}</td>
                <td className="num">{formatNumber(c.min)}</td>
                <td className="num">{formatNumber(c.mean)}</td>
                <td className="num">{formatNumber(c.max)}</td>
                <td>
                  {bins.length > 0 && (
                    <HistogramOverlay bins={bins} width={220} height={60} label={`distribution of ${c.name}`} />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
