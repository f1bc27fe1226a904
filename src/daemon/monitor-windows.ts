/**
 * A monitor's windows: served predictions of the alias (from the prediction log) joined with late
 * labels, bucketed into fixed windows aligned to the epoch, each with its metric computed by the
 * evaluation library over its labelled rows. A window with too few labelled rows does not count.
 */
import type { CompiledMonitor } from "../core/triggers.js";
import { rowPredictionId, type PredictionLogEntry } from "../store/registry-store.js";
import { labelValue, predictionScore, type MonitorMetric } from "./monitor-metric.js";

/** One served row, as the log holds it. */
export interface ServedRow {
  ts: number;
  version: number;
  input: unknown;
  score?: number;
  /** Its label, once one arrived and could be read. */
  label?: number;
}

export interface MonitorWindow {
  /** [start, end), ms since the epoch. */
  start: number;
  end: number;
  /** Rows served by the watched version in the window, and those of them with a label. */
  served: number;
  labelled: number;
  /** The metric over the labelled rows; absent when the window does not count. */
  value?: number;
  /** Whether the window counts (enough labelled rows and a defined metric). */
  counts: boolean;
  /** Beyond the threshold, in the monitor's direction. */
  breach?: boolean;
  /** Recovered past the threshold by the hysteresis margin: re-arms a monitor that fired. */
  recovered?: boolean;
  /** Why the window does not count, in words. */
  note?: string;
}

export interface JoinedRows {
  rows: ServedRow[];
  /** Labels found that the metric cannot take (not 0/1 for a binary metric), with an example. */
  unreadable: number;
  unreadableExample?: { key: string; value: unknown };
}

/**
 * The served rows of `version`, each with its label when one arrived. Labels keyed by prediction
 * id match `<id>.<row>` (or the bare id of a single-row request); others match the row key the
 * server logged, or the input field of the key's name.
 */
export function joinLabels(
  entries: readonly PredictionLogEntry[],
  version: number,
  labels: ReadonlyMap<string, unknown>,
  key: { byPredictionId: boolean; column: string },
  metric: MonitorMetric,
): JoinedRows {
  const out: JoinedRows = { rows: [], unreadable: 0 };
  for (const e of entries) {
    if (e.version !== version) continue;
    const inputs = Array.isArray(e.input) ? e.input : [e.input];
    const outputs = Array.isArray(e.output) ? e.output : [e.output];
    for (let i = 0; i < inputs.length; i++) {
      const row: ServedRow = { ts: e.ts, version: e.version, input: inputs[i], score: predictionScore(outputs[i]) };
      const labelKey = key.byPredictionId
        ? predictionKey(e, i, inputs.length, labels)
        : rowKey(e, i, inputs[i], key.column);
      const raw = labelKey === undefined ? undefined : labels.get(labelKey);
      if (raw !== undefined) {
        row.label = labelValue(raw, metric.task);
        if (row.label === undefined && out.unreadable++ === 0) out.unreadableExample = { key: labelKey!, value: raw };
      }
      out.rows.push(row);
    }
  }
  return out;
}

function predictionKey(e: PredictionLogEntry, row: number, rows: number, labels: ReadonlyMap<string, unknown>) {
  if (e.predictionId === undefined) return undefined;
  const id = rowPredictionId(e.predictionId, row);
  return rows === 1 && !labels.has(id) ? e.predictionId : id;
}

function rowKey(e: PredictionLogEntry, row: number, input: unknown, column: string): string | undefined {
  const logged = e.rowKeys?.[row];
  if (logged !== undefined && logged !== null) return logged;
  const v = typeof input === "object" && input !== null ? (input as Record<string, unknown>)[column] : undefined;
  return v === undefined || v === null ? undefined : String(v);
}

/** The ends of the `count` most recent complete windows, newest first. */
export function windowEnds(now: number, windowMs: number, count: number): number[] {
  const newest = Math.floor(now / windowMs) * windowMs;
  return Array.from({ length: count }, (_, k) => newest - k * windowMs);
}

/** The windows ending at `ends` (newest first), each with its metric over its labelled rows. */
export function measureWindows(
  m: CompiledMonitor,
  metric: MonitorMetric,
  rows: readonly ServedRow[],
  ends: readonly number[],
): MonitorWindow[] {
  return ends.map((end) => {
    const start = end - m.windowMs;
    const inside = rows.filter((r) => r.ts >= start && r.ts < end);
    const labelled = inside.filter((r) => r.label !== undefined && r.score !== undefined);
    const w: MonitorWindow = { start, end, served: inside.length, labelled: labelled.length, counts: false };
    if (labelled.length < m.minLabelledRows) {
      w.note = `${labelled.length} labelled rows, fewer than ${m.minLabelledRows}`;
      return w;
    }
    const y = Float64Array.from(labelled, (r) => r.label!);
    const p = Float64Array.from(labelled, (r) => r.score!);
    let value: number;
    try {
      value = metric.compute(y, p);
    } catch (err) {
      // e.g. AUC over labels of one class only: the window says nothing either way.
      w.note = `${metric.name} is undefined here: ${(err as Error).message}`;
      return w;
    }
    if (!Number.isFinite(value)) {
      w.note = `${metric.name} is not a number here`;
      return w;
    }
    const below = m.direction === "below";
    return {
      ...w,
      value,
      counts: true,
      breach: below ? value < m.threshold : value > m.threshold,
      recovered: below ? value >= m.threshold + m.hysteresis : value <= m.threshold - m.hysteresis,
    };
  });
}
