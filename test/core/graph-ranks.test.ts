/** The layered placement a graph view draws first: every edge points to a higher rank, no two steps share a place. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rankGraph } from "../../src/core/graph-ranks.js";

describe("rankGraph", () => {
  it("ranks random DAGs with every edge going to a higher rank and no two steps in one place", () => {
    const dag = fc.integer({ min: 1, max: 120 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 3 }),
      }),
    );
    fc.assert(
      fc.property(dag, ({ n, edges }) => {
        const nodes = Array.from({ length: n }, (_, i) => `s${i}`);
        // Edges from a lower to a higher index: acyclic, and the index order is topological.
        const es = edges.filter(([a, b]) => a < b).map(([a, b]) => ({ from: `s${a}`, to: `s${b}` }));
        const ranks = rankGraph(nodes, es);
        expect([...ranks.keys()].sort()).toEqual([...nodes].sort());
        for (const e of es) expect(ranks.get(e.from)!.rank).toBeLessThan(ranks.get(e.to)!.rank);
        const places = new Set([...ranks.values()].map((r) => `${r.rank},${r.order}`));
        expect(places.size).toBe(n);
        // Orders within a rank are 0..k-1 with no gaps.
        const perRank = new Map<number, number[]>();
        for (const r of ranks.values()) perRank.set(r.rank, [...(perRank.get(r.rank) ?? []), r.order]);
        for (const orders of perRank.values()) expect(orders.sort((a, b) => a - b)).toEqual(orders.map((_, i) => i));
      }),
      { numRuns: 200 },
    );
  });

  it("gives a step its longest path from a source, and orders a rank by its parents", () => {
    // a -> b -> d, a -> d, c -> e: d's longest path is 2; e follows c, b follows a.
    const ranks = rankGraph(
      ["c", "a", "b", "d", "e"],
      [
        { from: "a", to: "b" },
        { from: "b", to: "d" },
        { from: "a", to: "d" },
        { from: "c", to: "e" },
      ],
    );
    expect(Object.fromEntries(ranks)).toEqual({
      c: { rank: 0, order: 0 },
      a: { rank: 0, order: 1 },
      e: { rank: 1, order: 0 },
      b: { rank: 1, order: 1 },
      d: { rank: 2, order: 0 },
    });
  });

  it("ignores an edge against the given order or to an unknown step instead of looping", () => {
    const ranks = rankGraph(
      ["a", "b"],
      [
        { from: "b", to: "a" },
        { from: "a", to: "zz" },
      ],
    );
    expect(ranks.get("a")).toEqual({ rank: 0, order: 0 });
    expect(ranks.get("b")).toEqual({ rank: 0, order: 1 });
  });

  it("ranks 1,000 steps in 50 layers", () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => `s${i}`);
    const edges = nodes.slice(20).map((id, i) => ({ from: nodes[i], to: id }));
    const ranks = rankGraph(nodes, edges);
    expect(new Set([...ranks.values()].map((r) => r.rank)).size).toBe(50);
  });
});
