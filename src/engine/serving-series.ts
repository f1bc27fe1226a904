/**
 * A served alias over time, from the model server's prediction log: logged requests per fixed
 * window (aligned to the epoch, like a monitor's) with latency percentiles and the versions
 * served. The log is sampled (`serve --log-sample`), so counts are those of logged requests.
 */
import type { RegistryStore } from "../store/registry-store.js";

export interface ServingWindow {
  start: number;
  end: number;
  requests: number;
  p50?: number;
  p95?: number;
  p99?: number;
  versions: number[];
}

export interface ServingSeriesQuery {
  model: string;
  alias: string;
  windowMs: number;
  from: number;
  to: number;
}

export async function servingSeries(registry: RegistryStore, q: ServingSeriesQuery): Promise<ServingWindow[]> {
  const first = Math.floor(q.from / q.windowMs) * q.windowMs;
  const entries = await registry.readPredictionLog({ model: q.model, alias: q.alias, from: first, to: q.to });
  const windows: ServingWindow[] = [];
  const latencies: number[][] = [];
  const versions: Array<Set<number>> = [];
  for (let start = first; start < q.to; start += q.windowMs) {
    windows.push({ start, end: start + q.windowMs, requests: 0, versions: [] });
    latencies.push([]);
    versions.push(new Set());
  }
  for (const e of entries) {
    const i = Math.floor((e.ts - first) / q.windowMs);
    if (i < 0 || i >= windows.length) continue;
    windows[i].requests++;
    latencies[i].push(e.latencyMs);
    versions[i].add(e.version);
  }
  windows.forEach((w, i) => {
    const sorted = latencies[i].sort((a, b) => a - b);
    if (sorted.length) Object.assign(w, { p50: rank(sorted, 0.5), p95: rank(sorted, 0.95), p99: rank(sorted, 0.99) });
    w.versions = [...versions[i]].sort((a, b) => a - b);
  });
  return windows;
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
