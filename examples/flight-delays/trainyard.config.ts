/**
 * The flagship's triggers, for `trainyard up` / `trainyard daemon` (see docs/autonomy-demo.md):
 * a month landing starts a run; the production model's served AUC, measured on labels that
 * arrive later, falling below 0.5 for two windows starts a retrain by itself, as does input drift.
 * The environment moves the folders and the window, so the demo and its test share these lines.
 */
import { defineConfig, monitor, sensor, type Duration } from "trainyard";

const env = process.env;
/** Landing folder and labels file, relative to this folder. */
const landing = env.FLIGHTS_LANDING ?? "demo/landing";
const labels = env.FLIGHTS_LABELS ?? "demo/labels.csv";
/** A param profile for every run the triggers request ("sample" for small, fast runs). */
const profile = env.FLIGHTS_PROFILE || undefined;
const request = { params: { landing }, profile };

export default defineConfig({
  profiles: {
    /**
     * The demo's full months: a model trained on January alone leaves a wider TPR gap across the
     * busiest airports (about 0.44) than the flagship's 0.3 allows, so the first run would be rejected.
     */
    demo: { aucFloor: 0.6, maxTprGap: 0.5 },
    /** Months of a few thousand rows: the gates are loosened to what so little data can show. */
    sample: { searchRows: 2000, rounds: 20, aucFloor: 0.55, maxTprGap: 1, maxP99Ms: 50 },
  },
  triggers: {
    "flight-delays": [
      sensor("landed", {
        ...request,
        description: "a monthly partition landed",
        folder: landing,
        glob: "flights-*.parquet",
        settle: "200ms",
        debounce: "300ms",
        interval: "250ms",
      }),
      monitor("served-auc", {
        ...request,
        description: "the production model's served AUC fell, or its inputs drifted",
        model: "flight-delays",
        alias: "production",
        metric: "auc",
        threshold: 0.5,
        hysteresis: 0.05,
        window: (env.FLIGHTS_MONITOR_WINDOW ?? "20s") as Duration,
        windows: 2,
        minLabelledRows: 200,
        coolDown: "2m",
        labels: { source: labels, key: "prediction_id", column: "delayed" },
        drift: { threshold: 0.5 },
      }),
    ],
  },
});
