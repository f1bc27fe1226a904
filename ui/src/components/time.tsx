/**
 * Times with their time zone, always: a schedule's "02:00" means nothing without it. The user's
 * zone by default; a trigger's own zone where it has one.
 */
const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function formatTime(ms: number | undefined, timeZone = localZone): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "—";
  const f = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
    timeZoneName: "short",
  });
  return f.format(new Date(ms)).replace(",", "");
}

export function Time({ ms, zone }: { ms?: number; zone?: string }) {
  if (ms === undefined || ms === null) return <span className="muted">—</span>;
  return (
    <time dateTime={new Date(ms).toISOString()} title={`${formatTime(ms, "UTC")}`}>
      {formatTime(ms, zone)}
    </time>
  );
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "3 min ago", for what the eye scans; the exact time sits in the title. */
export function Ago({ ms }: { ms?: number }) {
  if (ms === undefined || ms === null) return <span className="muted">—</span>;
  const d = Date.now() - ms;
  const text = d < 0 ? `in ${formatDuration(-d)}` : `${formatDuration(d)} ago`;
  return (
    <time dateTime={new Date(ms).toISOString()} title={formatTime(ms)}>
      {text}
    </time>
  );
}

export function formatNumber(v: unknown, digits = 4): string {
  if (typeof v !== "number") return v === undefined || v === null ? "—" : String(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Number(v.toPrecision(digits)).toString();
}
