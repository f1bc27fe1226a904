import { describe, expect, it } from "vitest";
import { candidateList } from "trainyard/models";

describe("hyperparameter candidates", () => {
  const space = { maxDepth: [3, 4, 6], learningRate: [0.05, 0.1, 0.3], subsample: [0.8, 1] };

  it("grid search tries every combination once", () => {
    const grid = candidateList(space, "grid");
    expect(grid).toHaveLength(18);
    expect(new Set(grid.map((c) => JSON.stringify(c))).size).toBe(18);
  });

  it("random search samples distinct combinations, reproducibly for a seed", () => {
    const a = candidateList(space, { random: 5, seed: 3 });
    const b = candidateList(space, { random: 5, seed: 3 });
    const c = candidateList(space, { random: 5, seed: 4 });
    expect(a).toEqual(b);
    expect(a).toHaveLength(5);
    expect(new Set(a.map((x) => JSON.stringify(x))).size).toBe(5);
    expect(a).not.toEqual(c);
    expect(candidateList(space, { random: 100, seed: 1 })).toHaveLength(18);
  });
});
