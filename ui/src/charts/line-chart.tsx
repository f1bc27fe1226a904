/** Series over x (time, epoch, step), overlaid; enough for metric curves and serving latency. */
import { extent, linear, shortNumber, ticks } from "./scale";

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color?: string;
  dashed?: boolean;
}

interface Props {
  series: Series[];
  width?: number;
  height?: number;
  /** Formats x tick labels (times, for instance). */
  formatX?: (x: number) => string;
  /** Horizontal reference lines (thresholds). */
  rules?: Array<{ y: number; label: string }>;
  /** Points to circle (a series' best value), drawn in the colour of series `series`. */
  marks?: Array<{ x: number; y: number; series: number; label: string }>;
  label: string;
}

const PALETTE = ["var(--series-a)", "var(--series-b)", "#2f9e44", "#ae3ec9", "#e8590c", "#1098ad"];

export function LineChart(props: Props) {
  const { series, width = 560, height = 200, formatX = shortNumber, rules = [], marks = [], label } = props;
  const m = { l: 44, r: 10, t: 10, b: 22 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...rules.map((r) => r.y)];
  const xd = extent(xs);
  const yd = extent(ys, 0.08);
  const x = linear(xd, [m.l, width - m.r]);
  const y = linear(yd, [height - m.b, m.t]);
  return (
    <figure style={{ margin: 0 }}>
      <svg width={width} height={height} role="img" aria-label={label}>
        {ticks(yd).map((t) => (
          <g key={`y${t}`}>
            <line x1={m.l} x2={width - m.r} y1={y(t)} y2={y(t)} stroke="var(--border)" />
            <text x={m.l - 4} y={y(t) + 4} textAnchor="end">
              {shortNumber(t)}
            </text>
          </g>
        ))}
        {ticks(xd, 4).map((t) => (
          <text key={`x${t}`} x={x(t)} y={height - 6} textAnchor="middle">
            {formatX(t)}
          </text>
        ))}
        {rules.map((r) => (
          <g key={r.label}>
            <line x1={m.l} x2={width - m.r} y1={y(r.y)} y2={y(r.y)} stroke="var(--fail)" strokeDasharray="4 3" />
            <text x={width - m.r} y={y(r.y) - 3} textAnchor="end">
              {r.label}
            </text>
          </g>
        ))}
        {series.map((s, i) => (
          <polyline
            key={s.name}
            fill="none"
            stroke={s.color ?? PALETTE[i % PALETTE.length]}
            strokeWidth={1.8}
            strokeDasharray={s.dashed ? "5 3" : undefined}
            points={s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" ")}
          />
        ))}
        {marks.map((mk) => (
          <circle
            key={`${mk.series}:${mk.x}`}
            className="chart-mark"
            cx={x(mk.x)}
            cy={y(mk.y)}
            r={4}
            fill="var(--panel)"
            stroke={series[mk.series]?.color ?? PALETTE[mk.series % PALETTE.length]}
            strokeWidth={2}
          >
            <title>{mk.label}</title>
          </circle>
        ))}
      </svg>
      {series.length > 1 && (
        <figcaption className="row small">
          {series.map((s, i) => (
            <span key={s.name}>
              <span style={{ color: s.color ?? PALETTE[i % PALETTE.length] }}>■</span> {s.name}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}
