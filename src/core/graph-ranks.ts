/**
 * A layered placement of a DAG that costs one pass over its edges: each step's rank is its
 * longest path from a source, and within a rank steps are ordered by the mean order of their
 * upstream steps (one barycentre sweep). A graph view draws it at once, before a finer layout.
 */

export interface GraphRank {
  /** Longest path from a step without inputs: 0 for those. */
  rank: number;
  /** Position within its rank, 0 first. */
  order: number;
}

/**
 * Ranks every node of `nodes`. `nodes` should be in topological order (a compiled graph's `order`);
 * an edge against that order, or to an unknown node, is ignored rather than looped on.
 */
export function rankGraph(
  nodes: readonly string[],
  edges: ReadonlyArray<{ from: string; to: string }>,
): Map<string, GraphRank> {
  const position = new Map(nodes.map((id, i) => [id, i]));
  const upstream = new Map<string, string[]>(nodes.map((id) => [id, []]));
  for (const e of edges) {
    const from = position.get(e.from);
    const to = position.get(e.to);
    if (from !== undefined && to !== undefined && from < to) upstream.get(e.to)!.push(e.from);
  }
  const rankOf = new Map<string, number>();
  const ranks: string[][] = [];
  for (const id of nodes) {
    let rank = 0;
    for (const up of upstream.get(id)!) rank = Math.max(rank, rankOf.get(up)! + 1);
    rankOf.set(id, rank);
    (ranks[rank] ??= []).push(id);
  }
  const out = new Map<string, GraphRank>();
  const barycentre = (id: string) => {
    const ups = upstream.get(id)!;
    // A step without inputs keeps its place after those ordered by their parents.
    if (!ups.length) return Number.MAX_SAFE_INTEGER;
    return ups.reduce((sum, up) => sum + out.get(up)!.order, 0) / ups.length;
  };
  ranks.forEach((ids, rank) => {
    const keys = new Map(ids.map((id) => [id, rank === 0 ? 0 : barycentre(id)]));
    // Array.prototype.sort is stable: ties keep the topological order.
    const ordered = rank === 0 ? ids : [...ids].sort((a, b) => keys.get(a)! - keys.get(b)!);
    ordered.forEach((id, order) => out.set(id, { rank, order }));
  });
  return out;
}
