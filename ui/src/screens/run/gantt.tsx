/**
 * The run's timeline: one bar per step from start to end, a running step's bar growing to now
 * (re-drawn every second while the run runs). Steps never started are listed without a bar.
 * Each row is a link to its step, so the keyboard reaches every step from here too.
 */
import { useEffect, useState } from "react";
import { statusClass } from "../../components/status";
import { formatDuration } from "../../components/time";
import type { StepState } from "./live-steps";

const ROW = 16;
const LABEL = 180;

export function Gantt({
  steps,
  order,
  running,
  onSelect,
  stepHref,
  selected,
}: {
  steps: Map<string, StepState>;
  order: string[];
  running: boolean;
  selected?: string;
  onSelect: (id: string) => void;
  /** The step's own URL, for the row's link. */
  stepHref: (id: string) => string;
}) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [running]);
  const rows = order.map((id) => steps.get(id) ?? { stepId: id, status: "pending", cached: false, attempts: 0 });
  const started = rows.map((r) => r.startedAt).filter((t): t is number => typeof t === "number");
  const t0 = started.length ? Math.min(...started) : now;
  const ends = rows.map(
    (r) => r.finishedAt ?? (r.startedAt !== undefined && r.status === "running" ? now : r.startedAt),
  );
  const t1 = Math.max(t0 + 1000, ...ends.filter((t): t is number => typeof t === "number"), running ? now : 0);
  const width = 760;
  const scale = (t: number) => LABEL + ((t - t0) / (t1 - t0)) * (width - LABEL - 8);
  return (
    <section className="gantt" aria-label="Timeline of the run's steps">
      <svg width={width} height={rows.length * ROW + 24}>
        <title>{`Timeline of ${rows.length} steps over ${formatDuration(t1 - t0)}`}</title>
        <text x={LABEL} y={12}>
          0 s
        </text>
        <text x={width - 8} y={12} textAnchor="end">
          {formatDuration(t1 - t0)}
        </text>
        {rows.map((r, i) => {
          const y = 20 + i * ROW;
          const end = r.finishedAt ?? (r.status === "running" ? now : undefined);
          const bar = r.startedAt !== undefined && end !== undefined;
          const dur = bar ? end! - r.startedAt! : undefined;
          const state = r.cached ? "reused" : r.status;
          const tooltip = `${r.stepId}: ${state}${dur !== undefined ? `, ${formatDuration(dur)}` : ""}`;
          return (
            <a
              key={r.stepId}
              href={stepHref(r.stepId)}
              onClick={(e) => {
                if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
                e.preventDefault();
                onSelect(r.stepId);
              }}
              data-step={r.stepId}
            >
              <title>{tooltip}</title>
              <text x={4} y={y + 11} style={{ fontWeight: r.stepId === selected ? 700 : 400 }}>
                {r.stepId.length > 26 ? r.stepId.slice(0, 25) + "…" : r.stepId}
              </text>
              {bar ? (
                <rect
                  className={statusClass(r.status, r.cached)}
                  x={scale(r.startedAt!)}
                  y={y + 2}
                  width={Math.max(2, scale(end!) - scale(r.startedAt!))}
                  height={ROW - 4}
                  rx={2}
                  style={{ fill: "currentColor" }}
                />
              ) : (
                <text x={LABEL} y={y + 11}>
                  {r.cached ? "reused" : r.status}
                </text>
              )}
            </a>
          );
        })}
      </svg>
    </section>
  );
}
