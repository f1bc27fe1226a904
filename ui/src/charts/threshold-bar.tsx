/** A score against its threshold (PSI, KS): the bar turns red past the line. */
export function ThresholdBar({
  value,
  threshold,
  max,
  label,
}: {
  value: number;
  threshold?: number;
  max?: number;
  label: string;
}) {
  const top = Math.max(max ?? 0, value, (threshold ?? 0) * 2, 1e-9);
  const w = 140;
  const over = threshold !== undefined && value > threshold;
  return (
    <svg
      width={w}
      height={14}
      role="img"
      aria-label={`${label}: ${value.toFixed(3)}${threshold !== undefined ? ` (threshold ${threshold})` : ""}`}
    >
      <rect x={0} y={2} width={w} height={10} fill="var(--idle-bg)" rx={2} />
      <rect
        x={0}
        y={2}
        width={Math.min(w, (value / top) * w)}
        height={10}
        fill={over ? "var(--fail)" : "var(--ok)"}
        rx={2}
      />
      {threshold !== undefined && (
        <line x1={(threshold / top) * w} x2={(threshold / top) * w} y1={0} y2={14} stroke="var(--text)" />
      )}
    </svg>
  );
}
