/**
 * Reference vs current distribution of one column, overlaid on the same bins as shares of rows,
 * so a shift reads at a glance whatever the two samples' sizes.
 */
import { linear, shortNumber } from "./scale";
import { keyedByText } from "../components/text-keys";

export interface Bin {
  /** The bin's label: a range "[0, 10)" or a category. */
  label: string;
  reference: number;
  current: number;
}

export function HistogramOverlay({
  bins,
  width = 420,
  height = 160,
  label,
}: {
  bins: Bin[];
  width?: number;
  height?: number;
  label: string;
}) {
  const m = { l: 46, r: 6, t: 8, b: 20 };
  const refTotal = bins.reduce((a, b) => a + b.reference, 0) || 1;
  const curTotal = bins.reduce((a, b) => a + b.current, 0) || 1;
  const shares = bins.map((b) => ({ label: b.label, ref: b.reference / refTotal, cur: b.current / curTotal }));
  const top = Math.max(0.01, ...shares.flatMap((s) => [s.ref, s.cur]));
  const y = linear([0, top], [height - m.b, m.t]);
  const bw = (width - m.l - m.r) / Math.max(1, bins.length);
  return (
    <figure style={{ margin: 0 }}>
      <svg width={width} height={height} role="img" aria-label={label}>
        <text x={m.l - 4} y={m.t + 8} textAnchor="end">
          {shortNumber(top * 100)}%
        </text>
        <line x1={m.l} x2={width - m.r} y1={height - m.b} y2={height - m.b} stroke="var(--border)" />
        {keyedByText(shares, (s) => s.label).map(({ key, item: s }, i) => (
          <g key={key}>
            <title>{`${s.label}: reference ${(s.ref * 100).toFixed(1)}%, current ${(s.cur * 100).toFixed(1)}%`}</title>
            <rect
              x={m.l + i * bw + 1}
              y={y(s.ref)}
              width={bw - 2}
              height={height - m.b - y(s.ref)}
              fill="var(--series-a)"
              opacity={0.45}
            />
            <rect
              x={m.l + i * bw + bw * 0.25}
              y={y(s.cur)}
              width={bw * 0.5}
              height={height - m.b - y(s.cur)}
              fill="var(--series-b)"
              opacity={0.85}
            />
          </g>
        ))}
        {bins.length > 0 && (
          <>
            <text x={m.l} y={height - 6}>
              {bins[0].label}
            </text>
            <text x={width - m.r} y={height - 6} textAnchor="end">
              {bins[bins.length - 1].label}
            </text>
          </>
        )}
      </svg>
      <figcaption className="row small">
        <span>
          <span style={{ color: "var(--series-a)" }}>■</span> reference
        </span>
        <span>
          <span style={{ color: "var(--series-b)" }}>■</span> current
        </span>
      </figcaption>
    </figure>
  );
}
