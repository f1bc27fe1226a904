/** The run's steps as a filterable list: the quick, keyboard-friendly way to a step among a thousand. */
import { useState } from "react";
import { links } from "../../api/endpoints";
import { StatusBadge } from "../../components/status";
import { formatDuration } from "../../components/time";
import { Link } from "../../router";
import type { StepState } from "./live-steps";

const PAGE = 200;

export function StepTable({
  runId,
  order,
  steps,
  selected,
}: {
  runId: string;
  order: string[];
  steps: Map<string, StepState>;
  selected?: string;
}) {
  const [filter, setFilter] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const rows = order
    .map((id) => steps.get(id) ?? { stepId: id, status: "pending", cached: false, attempts: 0 })
    .filter((s) => !filter || s.stepId.includes(filter) || s.status === filter || (filter === "reused" && s.cached));
  return (
    <div>
      <label className="row small">
        Filter steps by name or state
        <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="e.g. train, failed" />
        <span className="muted">
          {rows.length} of {order.length}
        </span>
      </label>
      <table>
        <thead>
          <tr>
            <th>step</th>
            <th>state</th>
            <th className="num">attempts</th>
            <th className="num">took</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, limit).map((s) => (
            <tr key={s.stepId} aria-current={s.stepId === selected ? "true" : undefined}>
              <td>
                <Link href={links.step(runId, s.stepId, { view: "list" })}>{s.stepId}</Link>
              </td>
              <td>
                <StatusBadge status={s.cached ? "reused" : s.status} />
              </td>
              <td className="num">{s.attempts}</td>
              <td className="num">{formatDuration(s.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > limit && (
        <button type="button" onClick={() => setLimit(limit + PAGE)}>
          Show {Math.min(PAGE, rows.length - limit)} more
        </button>
      )}
    </div>
  );
}
