/**
 * A worker's step slots: never more steps at work than slots; more tasks taken from the queue
 * only while steps are short.
 */
import { describe, expect, it } from "vitest";
import { StepSlots } from "../../src/distributed/step-slots.js";

describe("StepSlots", () => {
  it("lets no more steps work at once than it has slots, handing a freed slot to the longest waiter", async () => {
    const slots = new StepSlots(2);
    const started: string[] = [];
    const take = async (name: string) => {
      const release = await slots.acquire();
      started.push(name);
      return release;
    };
    const a = await take("a");
    const b = await take("b");
    const c = take("c");
    const d = take("d");
    await new Promise((r) => setTimeout(r, 10));
    expect(started).toEqual(["a", "b"]);
    a(5);
    a(5); // a second release of one slot gives nothing back
    const releaseC = await c;
    expect(started).toEqual(["a", "b", "c"]);
    b(5);
    releaseC(5);
    (await d)(5);
    // Both are free again: two acquisitions go through at once, a third waits.
    const again = await Promise.all([slots.acquire(), slots.acquire()]);
    let third = false;
    void slots.acquire().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    again[0](5);
    await new Promise((r) => setTimeout(r, 0));
    expect(third).toBe(true);
  });

  it("takes extra tasks from the queue after a short step, and only its slots after a long one", async () => {
    const slots = new StepSlots(3);
    expect(slots.tasksToTake).toBe(3);
    (await slots.acquire())(12);
    expect(slots.tasksToTake).toBeGreaterThan(3);
    (await slots.acquire())(60_000);
    expect(slots.tasksToTake).toBe(3);
  });
});
