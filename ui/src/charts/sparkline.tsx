/** A metric's recent values in a table cell. */
import { extent, linear } from "./scale";

export function Sparkline({
  values,
  width = 90,
  height = 22,
  label,
}: {
  values: number[];
  width?: number;
  height?: number;
  label: string;
}) {
  if (values.length < 2) return null;
  const x = linear([0, values.length - 1], [1, width - 1]);
  const y = linear(extent(values), [height - 2, 2]);
  return (
    <svg width={width} height={height} role="img" aria-label={label}>
      <polyline
        fill="none"
        stroke="var(--series-a)"
        strokeWidth={1.5}
        points={values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}
      />
    </svg>
  );
}
