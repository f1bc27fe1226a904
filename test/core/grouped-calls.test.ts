/** Grouped calls: one caller goes alone at once; callers arriving while a group is in flight share the next one. */
import { describe, expect, it } from "vitest";
import { GroupedCalls } from "../../src/core/grouped-calls.js";

describe("GroupedCalls", () => {
  it("sends calls of one turn together, those made meanwhile as the next group, answering in order", async () => {
    const groups: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls = new GroupedCalls<number, number>(async (inputs) => {
      groups.push(inputs);
      if (groups.length === 1) await gate;
      return inputs.map((n) => n * 10);
    });
    const first = [calls.call(1), calls.call(2)];
    await Promise.resolve();
    await Promise.resolve();
    const later = [calls.call(3), calls.call(4), calls.call(5)];
    expect(groups).toEqual([[1, 2]]);
    release();
    expect(await Promise.all([...first, ...later])).toEqual([10, 20, 30, 40, 50]);
    expect(groups).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    // Idle again: a lone call goes by itself.
    expect(await calls.call(6)).toBe(60);
    expect(groups.at(-1)).toEqual([6]);
  });

  it("rejects every call of a failed group and goes on with the next", async () => {
    let fail = true;
    const calls = new GroupedCalls<string, string>(async (inputs) => {
      if (fail) {
        fail = false;
        throw new Error("database away");
      }
      return inputs.map((s) => s.toUpperCase());
    });
    const failed = await Promise.allSettled([calls.call("a"), calls.call("b")]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await calls.call("c")).toBe("C");
  });
});
