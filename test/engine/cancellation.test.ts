import { describe, expect, it } from "vitest";
import { Cancellation } from "../../src/engine/cancellation.js";

describe("Cancellation", () => {
  it("calls each hook once with the reason, except hooks removed before the abort", () => {
    const c = new Cancellation();
    const calls: unknown[] = [];
    c.onAbort((r) => calls.push(["a", r]));
    const remove = c.onAbort((r) => calls.push(["b", r]));
    remove();
    expect(c.aborted).toBe(false);
    c.abort("stop");
    c.abort("again");
    expect(calls).toEqual([["a", "stop"]]);
    expect(c.reason).toBe("stop");
    // A hook added after the abort runs at once.
    c.onAbort((r) => calls.push(["late", r]));
    expect(calls).toEqual([
      ["a", "stop"],
      ["late", "stop"],
    ]);
  });

  it("has a signal that follows it, whether asked for before or after the abort", () => {
    const before = new Cancellation();
    const signal = before.signal;
    let heard: unknown;
    signal.addEventListener("abort", () => (heard = signal.reason));
    before.abort(new Error("timed out"));
    expect(signal.aborted).toBe(true);
    expect((heard as Error).message).toBe("timed out");

    const after = new Cancellation();
    after.abort("cancelled");
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBe("cancelled");
    expect(new Cancellation().signal.aborted).toBe(false);
  });
});
