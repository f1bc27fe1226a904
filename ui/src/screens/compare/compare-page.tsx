/**
 * Compare runs of a pipeline: pick them from its run list (or tick them in the Runs list), then
 * see params and metrics side by side (best and final values, the best run marked, "only
 * differences" on request), metric curves overlaid and the search trials in parallel coordinates.
 * The URL holds the pipeline, the picked runs and the toggle, so a comparison is a link:
 * /compare?pipeline=p&runs=a,b,c&diff=1.
 */
import { links, endpoints } from "../../api/endpoints";
import type { PipelineList } from "../../api/types";
import { useApi } from "../../api/use-api";
import { AmbiguousRunChoice, ambiguousRunOf } from "../../components/ambiguous-run";
import { ErrorBox, Loading } from "../../components/error-box";
import { navigate, useLocation, useTitle } from "../../router";
import { useCompareData } from "./compare-data";
import { ComparisonTable } from "./comparison-table";
import { MetricCurves } from "./metric-curves";
import { RunPicker } from "./run-picker";
import { SearchTrials } from "./search-trials";

export default function ComparePage() {
  useTitle("Compare runs");
  const { query } = useLocation();
  const runIds = (query.get("runs") ?? "").split(",").filter(Boolean);
  const onlyDifferences = query.get("diff") === "1";
  const data = useCompareData(runIds);
  const pipelines = useApi<PipelineList>(endpoints.pipelines());
  const pipeline = query.get("pipeline") ?? data.comparison?.runs[0]?.pipeline ?? "";
  // View-state changes replace the entry: back leaves the compare view, not each checkbox.
  const go = (q: { pipeline?: string; runs?: string[]; diff?: boolean }, replace = true) =>
    navigate(links.compare({ pipeline, runs: runIds, diff: onlyDifferences, ...q }), { replace });
  return (
    <div>
      <h1>Compare runs</h1>
      <div className="row" style={{ marginBottom: 10 }}>
        <label>
          Pipeline{" "}
          <select value={pipeline} name="pipeline" onChange={(e) => go({ pipeline: e.target.value, runs: [] }, false)}>
            <option value="">choose…</option>
            {(pipelines.data?.pipelines ?? []).map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {runIds.length < 2 && <span className="muted">Pick two runs or more to compare them.</span>}
      </div>
      {pipeline && <RunPicker pipeline={pipeline} selected={runIds} onChange={(runs) => go({ runs })} />}
      {data.error !== undefined && (
        <CompareError
          error={data.error}
          compareWith={(runs) => links.compare({ pipeline, runs, diff: onlyDifferences })}
          runIds={runIds}
        />
      )}
      {data.loading && !data.comparison && <Loading what="comparison" />}
      {data.comparison && runIds.length >= 2 && (
        <>
          <ComparisonTable
            comparison={data.comparison}
            onlyDifferences={onlyDifferences}
            onToggleDifferences={(diff) => go({ diff })}
          />
          <MetricCurves comparison={data.comparison} series={data.series} />
          <SearchTrials runIds={data.comparison.runs.map((r) => r.id)} trials={data.trials} />
        </>
      )}
    </div>
  );
}

/**
 * A failed comparison; a run-id prefix of several runs lists them, each linking to this comparison
 * with that run in the prefix's place.
 */
function CompareError({
  error,
  runIds,
  compareWith,
}: {
  error: unknown;
  runIds: string[];
  compareWith: (runs: string[]) => string;
}) {
  const ambiguity = ambiguousRunOf(error);
  const prefix = ambiguity?.prefix;
  if (!ambiguity || prefix === undefined || !runIds.includes(prefix)) return <ErrorBox error={error} />;
  const linkTo = (id: string) => compareWith(runIds.map((r) => (r === prefix ? id : r)));
  return <AmbiguousRunChoice prefix={prefix} ambiguity={ambiguity} linkTo={linkTo} heading="h2" />;
}
