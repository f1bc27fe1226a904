/** The run page's provisional DAG placement: every edge points right, no two nodes overlap. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { quickLayout } from "../../ui/src/dag/quick-layout.js";

const SIZE = { width: 170, height: 36 };

describe("quick layered layout", () => {
  it("places random DAGs with edges left to right and no overlaps", () => {
    const dag = fc.integer({ min: 1, max: 120 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        edges: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 3 }),
      }),
    );
    fc.assert(
      fc.property(dag, ({ n, edges }) => {
        const nodes = Array.from({ length: n }, (_, i) => `s${i}`);
        // Edges from a lower to a higher index: acyclic by construction.
        const es = edges.filter(([a, b]) => a < b).map(([a, b]) => ({ source: `s${a}`, target: `s${b}` }));
        const { positions } = quickLayout("d", nodes, es, SIZE);
        expect(Object.keys(positions).sort()).toEqual([...nodes].sort());
        for (const e of es) expect(positions[e.source].x).toBeLessThan(positions[e.target].x);
        const taken = new Set(nodes.map((id) => `${positions[id].x},${positions[id].y}`));
        expect(taken.size).toBe(n);
      }),
      { numRuns: 200 },
    );
  });

  it("lays out 1,000 steps in one pass", () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => `s${i}`);
    const edges = nodes.slice(20).map((id, i) => ({ source: nodes[i], target: id }));
    const { positions } = quickLayout("d", nodes, edges, SIZE);
    expect(new Set(Object.values(positions).map((p: { x: number }) => p.x)).size).toBe(50);
  });
});
