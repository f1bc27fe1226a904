/**
 * The provisional placement a run page draws at once: the server ranks the graph's steps (longest
 * path, then the mean place of their upstream steps), and a step's rank and order become its
 * column and row here. ELK's placement, from its worker, replaces it when ready.
 */
import type { LayoutResult } from "./layout-types";

export const NODE_WIDTH = 170;
export const NODE_HEIGHT = 36;
const COLUMN_GAP = 48;
const ROW_GAP = 14;

export interface GraphShape {
  nodes: string[];
  edges: Array<{ source: string; target: string }>;
}

export type StepRanks = ReadonlyMap<string, { rank: number; order: number }>;

/** Places ranked steps by rank and order; steps the ranking lacks go in a column after the last. */
export function rankedLayout(digest: string, nodes: readonly string[], ranks: StepRanks): LayoutResult {
  const started = performance.now();
  let lastRank = -1;
  for (const r of ranks.values()) lastRank = Math.max(lastRank, r.rank);
  let extraRow = 0;
  const positions: LayoutResult["positions"] = {};
  for (const id of nodes) {
    const r = ranks.get(id) ?? { rank: lastRank + 1, order: extraRow++ };
    positions[id] = { x: r.rank * (NODE_WIDTH + COLUMN_GAP), y: r.order * (NODE_HEIGHT + ROW_GAP) };
  }
  return { digest, positions, ms: performance.now() - started, provisional: true };
}
