/**
 * Parallel coordinates: one vertical axis per dimension (numeric or categorical), one line per
 * record across them, coloured by the score (the last axis); the best record is drawn on top.
 */
import { extent, linear, shortNumber } from "./scale";

export interface PcRecord {
  id: string;
  values: Record<string, number | string | boolean | undefined>;
}

interface Props {
  records: PcRecord[];
  /** Axes left to right; the last one is the score that colours the lines. */
  axes: string[];
  goal: "min" | "max";
  label: string;
  width?: number;
  height?: number;
}

interface Axis {
  name: string;
  pos: (v: unknown) => number | undefined;
  ticks: Array<{ y: number; text: string }>;
}

export function ParallelCoordinates({ records, axes, goal, label, width = 860, height = 240 }: Props) {
  const m = { l: 40, r: 40, t: 22, b: 14 };
  const x = linear([0, Math.max(1, axes.length - 1)], [m.l, width - m.r]);
  const built: Axis[] = axes.map((name) => buildAxis(name, records, [height - m.b, m.t]));
  const score = axes[axes.length - 1];
  const scores = records.map((r) => r.values[score]).filter((v): v is number => typeof v === "number");
  const [lo, hi] = extent(scores);
  const bestScore = scores.length ? (goal === "min" ? Math.min(...scores) : Math.max(...scores)) : undefined;
  const shade = (v: unknown) => {
    if (typeof v !== "number") return "var(--idle)";
    const t = (v - lo) / (hi - lo || 1);
    const good = goal === "min" ? 1 - t : t;
    return `hsl(${Math.round(20 + good * 190)} 70% 45%)`;
  };
  const ordered = [...records].sort(
    (a, b) => Number(a.values[score] === bestScore) - Number(b.values[score] === bestScore),
  );
  return (
    <svg width={width} height={height} role="img" aria-label={label} className="parallel-coordinates">
      {ordered.map((r) => {
        const pts = built.flatMap((a, i) => {
          const y = a.pos(r.values[a.name]);
          return y === undefined ? [] : [`${x(i).toFixed(1)},${y.toFixed(1)}`];
        });
        const best = r.values[score] === bestScore;
        return (
          <polyline
            key={r.id}
            data-record={r.id}
            data-best={best || undefined}
            fill="none"
            stroke={shade(r.values[score])}
            strokeWidth={best ? 3 : 1.4}
            opacity={best ? 1 : 0.75}
            points={pts.join(" ")}
          >
            <title>{`${r.id}: ${axes.map((a) => `${a}=${String(r.values[a])}`).join(", ")}`}</title>
          </polyline>
        );
      })}
      {built.map((a, i) => (
        <g key={a.name} data-axis={a.name}>
          <line x1={x(i)} x2={x(i)} y1={m.t} y2={height - m.b} stroke="var(--muted)" />
          <text x={x(i)} y={m.t - 8} textAnchor="middle" fontWeight={600}>
            {a.name}
          </text>
          {a.ticks.map((t) => (
            <text key={t.text} x={x(i) + 4} y={t.y + 4} className="small">
              {t.text}
            </text>
          ))}
        </g>
      ))}
    </svg>
  );
}

function buildAxis(name: string, records: PcRecord[], range: [number, number]): Axis {
  const values = records.map((r) => r.values[name]).filter((v) => v !== undefined);
  if (values.length && values.every((v) => typeof v === "number")) {
    const d = extent(values as number[], 0.05);
    const y = linear(d, range);
    const lo = Math.min(...(values as number[]));
    const hi = Math.max(...(values as number[]));
    const ticks = [...new Set([lo, hi])].map((v) => ({ y: y(v), text: shortNumber(v) }));
    return { name, pos: (v) => (typeof v === "number" ? y(v) : undefined), ticks };
  }
  // Categorical: each distinct value at its own point, in first-seen order.
  const cats = [...new Set(values.map(String))];
  const y = linear([-0.5, cats.length - 0.5], range);
  const ticks = cats.map((c, i) => ({ y: y(i), text: c }));
  return { name, pos: (v) => (v === undefined ? undefined : y(cats.indexOf(String(v)))), ticks };
}
