/**
 * Prometheus metrics of the model server, in the text exposition format (version 0.0.4).
 * Series live in plain maps keyed by model/alias so that recording a request on the hot path
 * is a few map lookups and array increments; text is built only when /metrics is scraped.
 */

/** Upper bounds (seconds) of the latency histogram: sub-millisecond resolution where predicts live. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** One model/alias's request counters; `ServeMetrics.seriesOf` hands it out so the hot path skips the key. */
export interface RequestSeries {
  model: string;
  alias: string;
  /** status code -> requests */
  codes: Map<number, number>;
  /** Non-cumulative counts per bucket, the last one for +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

export class ServeMetrics {
  private readonly series = new Map<string, RequestSeries>();
  private readonly versions = new Map<string, { model: string; alias: string; version: number }>();
  private readonly reloads = new Map<string, { model: string; alias: string; result: string; n: number }>();
  private predictionsLogged = 0;
  private predictionsDropped = 0;
  private predictionsPruned = 0;

  /** Records one request; `model`/`alias` are empty for requests that named no served model. */
  observe(model: string, alias: string, status: number, seconds: number): void {
    this.record(this.seriesOf(model, alias), status, seconds);
  }

  /** The series of one model/alias, created on first use; pass it to `record`. */
  seriesOf(model: string, alias: string): RequestSeries {
    const key = `${model}\u0000${alias}`;
    let s = this.series.get(key);
    if (!s)
      this.series.set(
        key,
        (s = {
          model,
          alias,
          codes: new Map(),
          buckets: new Float64Array(LATENCY_BUCKETS.length + 1),
          sum: 0,
          count: 0,
        }),
      );
    return s;
  }

  /** Records one request of a series. */
  record(s: RequestSeries, status: number, seconds: number): void {
    s.codes.set(status, (s.codes.get(status) ?? 0) + 1);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    s.buckets[i]++;
    s.sum += seconds;
    s.count++;
  }

  setVersion(model: string, alias: string, version: number | undefined): void {
    const key = `${model}\u0000${alias}`;
    if (version === undefined) this.versions.delete(key);
    else this.versions.set(key, { model, alias, version });
  }

  reloaded(model: string, alias: string, result: "success" | "failure"): void {
    const key = `${model}\u0000${alias}\u0000${result}`;
    const r = this.reloads.get(key) ?? { model, alias, result, n: 0 };
    r.n++;
    this.reloads.set(key, r);
  }

  logged(n: number, dropped: number): void {
    this.predictionsLogged += n;
    this.predictionsDropped += dropped;
  }

  /** Rows the retention pass deleted from the prediction log. */
  pruned(n: number): void {
    this.predictionsPruned += n;
  }

  render(): string {
    const out: string[] = [];
    out.push("# HELP trainyard_serve_requests_total Predict requests by model, alias and HTTP status code.");
    out.push("# TYPE trainyard_serve_requests_total counter");
    for (const s of this.series.values()) {
      for (const [code, n] of s.codes)
        out.push(
          `trainyard_serve_requests_total{${labels({ model: s.model, alias: s.alias, code: String(code) })}} ${n}`,
        );
    }
    out.push(
      "# HELP trainyard_serve_request_duration_seconds Predict request latency, " +
        "from first byte read to response written.",
    );
    out.push("# TYPE trainyard_serve_request_duration_seconds histogram");
    for (const s of this.series.values()) {
      const base = labels({ model: s.model, alias: s.alias });
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i];
        out.push(`trainyard_serve_request_duration_seconds_bucket{${base},le="${le}"} ${cumulative}`);
      });
      out.push(`trainyard_serve_request_duration_seconds_bucket{${base},le="+Inf"} ${s.count}`);
      out.push(`trainyard_serve_request_duration_seconds_sum{${base}} ${s.sum}`);
      out.push(`trainyard_serve_request_duration_seconds_count{${base}} ${s.count}`);
    }
    out.push("# HELP trainyard_serve_model_version The registry version each served alias currently answers with.");
    out.push("# TYPE trainyard_serve_model_version gauge");
    for (const v of this.versions.values())
      out.push(`trainyard_serve_model_version{${labels({ model: v.model, alias: v.alias })}} ${v.version}`);
    out.push("# HELP trainyard_serve_reloads_total Model loads after an alias moved, by result.");
    out.push("# TYPE trainyard_serve_reloads_total counter");
    for (const r of this.reloads.values())
      out.push(`trainyard_serve_reloads_total{${labels({ model: r.model, alias: r.alias, result: r.result })}} ${r.n}`);
    out.push("# HELP trainyard_serve_predictions_logged_total Sampled requests written to the prediction log.");
    out.push("# TYPE trainyard_serve_predictions_logged_total counter");
    out.push(`trainyard_serve_predictions_logged_total ${this.predictionsLogged}`);
    out.push(
      "# HELP trainyard_serve_predictions_log_dropped_total " +
        "Sampled requests dropped because the log writer fell behind.",
    );
    out.push("# TYPE trainyard_serve_predictions_log_dropped_total counter");
    out.push(`trainyard_serve_predictions_log_dropped_total ${this.predictionsDropped}`);
    out.push("# HELP trainyard_serve_prediction_log_pruned_total Prediction log rows deleted by age or row retention.");
    out.push("# TYPE trainyard_serve_prediction_log_pruned_total counter");
    out.push(`trainyard_serve_prediction_log_pruned_total ${this.predictionsPruned}`);
    return `${out.join("\n")}\n`;
  }
}

function labels(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}
