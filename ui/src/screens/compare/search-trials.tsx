/**
 * The picked runs' search trials in parallel coordinates, one chart per search step: each
 * trial's hyperparameters and its score (the step's first recorded metric, e.g. auc).
 */
import type { TrialSetList } from "../../api/types";
import { ParallelCoordinates, type PcRecord } from "../../charts/parallel-coordinates";
import { formatNumber } from "../../components/time";
import { runLabel } from "./compare-data";

type Searches = TrialSetList["searches"];

export function SearchTrials({ runIds, trials }: { runIds: string[]; trials: Map<string, Searches> }) {
  const steps = new Map<string, { goal: "min" | "max"; score: string; params: string[]; records: PcRecord[] }>();
  for (const run of runIds) {
    for (const set of trials.get(run) ?? []) {
      // The score is the metric the search optimizes: the first one with a goal other than timings.
      const score = Object.keys(set.goals).find((k) => !/seconds|_ms$/.test(k)) ?? Object.keys(set.goals)[0];
      if (!score) continue;
      let entry = steps.get(set.step);
      if (!entry) steps.set(set.step, (entry = { goal: set.goals[score], score, params: [], records: [] }));
      for (const t of set.trials) {
        for (const p of Object.keys(t.params)) if (!entry.params.includes(p)) entry.params.push(p);
        const values = { ...t.params, run: runLabel(run), [score]: t.metrics[score] };
        entry.records.push({ id: `${runLabel(run)}[${t.item}]`, values });
      }
    }
  }
  if (!steps.size) return null;
  return (
    <section className="panel" aria-label="Search trials">
      <h2 style={{ marginTop: 0 }}>Search trials</h2>
      {[...steps].map(([step, e]) => {
        const scores = e.records.map((r) => r.values[e.score]).filter((v): v is number => typeof v === "number");
        const best = e.goal === "min" ? Math.min(...scores) : Math.max(...scores);
        const axes = [...(runIds.length > 1 ? ["run"] : []), ...e.params, e.score];
        return (
          <div key={step} data-search={step}>
            <h3 className="small" style={{ margin: "4px 0" }}>
              {step}: {e.records.length} trials over {runIds.length} runs; best {e.score}{" "}
              <strong>{formatNumber(best)}</strong> ({e.goal === "min" ? "lower" : "higher"} is better)
            </h3>
            <ParallelCoordinates records={e.records} axes={axes} goal={e.goal} label={`${step} trials`} />
          </div>
        );
      })}
    </section>
  );
}
