/** What the scheduler's longest-path estimate reads from recorded step runs, alike on every backend. */

/** The median of the (at most) five newest durations of each step; rows come newest first. */
export function medianDurations(rows: Array<{ step_id: string; d: number }>): Map<string, number> {
  const byStep = new Map<string, number[]>();
  for (const r of rows) {
    const list = byStep.get(r.step_id) ?? [];
    if (list.length < 5) list.push(r.d);
    byStep.set(r.step_id, list);
  }
  return new Map([...byStep].map(([id, list]) => [id, list.sort((a, b) => a - b)[Math.floor(list.length / 2)]]));
}
