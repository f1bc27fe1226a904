/**
 * What started a run the daemon launched, read from the tick ledger: the trigger (kind and name),
 * the tick's time, the event (files and their digests, a monitor's metric and windows, a query's
 * value) and the reason in words. `show`, `show --json` and the HTTP API present it alike.
 */
import type { MetadataStore } from "../store/metadata-store.js";
import { tickStoreFor } from "../store/tick-store-for.js";
import type { TickRecord } from "../store/tick-store.js";

export interface RunOrigin {
  /** The trigger's ledger id, `<pipeline>/<name>`. */
  trigger: string;
  kind: TickRecord["kind"];
  name: string;
  /** The tick's unique key (a schedule slot, an event key). */
  tickKey: string;
  /** The time the tick was for: a schedule's slot, the event's time (ms). */
  tickAt: number;
  /** When the daemon recorded the tick (ms). */
  recordedAt: number;
  /** Why, in words, as the trigger decided it. */
  reason: string;
  /** The event as recorded: `{ files: [{ name, size, digest }] }`, a monitor's windows, a query's value. */
  event?: unknown;
  /** The event in words, one line per fact; empty when there is no event. */
  eventLines: string[];
}

/** The tick that asked for `runId`, or undefined for a run started by hand (`trainyard run`). */
export async function runOrigin(metadata: MetadataStore, runId: string): Promise<RunOrigin | undefined> {
  const ticks = await tickStoreFor(metadata);
  try {
    const queued = await ticks.getQueuedRun(runId);
    if (!queued) return undefined;
    const tick = await ticks.getTick(queued.trigger, queued.tickKey);
    if (!tick) return undefined;
    return {
      trigger: tick.trigger,
      kind: tick.kind,
      name: tick.trigger.slice(tick.trigger.indexOf("/") + 1),
      tickKey: tick.key,
      tickAt: tick.scheduledAt,
      recordedAt: tick.evaluatedAt,
      reason: tick.reason,
      event: tick.event,
      eventLines: describeTickEvent(tick.event),
    };
  } finally {
    await ticks.close();
  }
}

interface FileFact {
  name: string;
  size?: number;
  digest?: string;
}

interface WindowFact {
  start: number;
  end: number;
  value?: number;
  psi?: number;
  column?: string;
  labelled?: number;
  served?: number;
}

/** An event in words: its files with digests, a monitor's metric over its windows, or its fields. */
export function describeTickEvent(event: unknown): string[] {
  if (event === undefined || event === null || typeof event !== "object") return [];
  const e = event as Record<string, unknown>;
  if (Array.isArray(e.files)) {
    const files = e.files as FileFact[];
    const lines = [`${files.length} file${files.length === 1 ? "" : "s"}:`];
    for (const f of files)
      lines.push(`  ${f.name}  ${f.digest ?? ""}${f.size === undefined ? "" : `  (${f.size} bytes)`}`);
    return lines;
  }
  if (e.kind === "monitor" && Array.isArray(e.windows)) {
    const windows = e.windows as WindowFact[];
    const drift = e.signal === "drift";
    const what = drift ? "input drift (PSI)" : String(e.metric);
    const head =
      `${e.model}@${e.alias} (version ${e.version}): ${what} ${e.direction} ${e.threshold}` +
      ` in ${windows.length} window${windows.length === 1 ? "" : "s"}` +
      ` of ${Math.round(Number(e.windowMs) / 60_000)} min`;
    const lines = [head];
    for (const w of windows) {
      const span = `${new Date(w.start).toISOString()} .. ${new Date(w.end).toISOString()}`;
      const value = drift ? `PSI ${fixed(w.psi)}${w.column ? ` (${w.column})` : ""}` : `${e.metric} ${fixed(w.value)}`;
      const rows = drift ? `${w.served ?? 0} served rows` : `${w.labelled ?? 0} labelled of ${w.served ?? 0} served`;
      lines.push(`  ${span}  ${value}, ${rows}`);
    }
    return lines;
  }
  return Object.entries(e).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
}

function fixed(v: number | undefined): string {
  return v === undefined ? "-" : v.toFixed(4);
}
