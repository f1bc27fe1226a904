import { describe, expect, it } from "vitest";
import { Fatal, pipeline } from "../../src/index.js";
import type { RunEvent } from "../../src/engine/events.js";
import { sleep, stepOf, useHomes } from "./support.js";

const homes = useHomes();

describe("retries", () => {
  it("retries with exponential backoff until an attempt succeeds", async () => {
    const { ty } = await homes.open();
    let calls = 0;
    const p = pipeline("retry");
    p.step("flaky", {
      retry: { attempts: 4, initialDelayMs: 10, backoff: 3, jitter: 0 },
      run: (ctx) => {
        calls++;
        ctx.log(`attempt ${ctx.attempt}`);
        if (ctx.attempt < 3) throw new Error(`transient failure ${ctx.attempt}`);
        return "ok";
      },
    });
    const events: RunEvent[] = [];
    const r = await ty.run(p, { onEvent: (e) => events.push(e) });
    expect(r.status).toBe("succeeded");
    expect(calls).toBe(3);
    expect(stepOf(r, "flaky").attempts).toBe(3);
    const retries = events.filter((e): e is Extract<RunEvent, { type: "step-retry" }> => e.type === "step-retry");
    expect(retries.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 10],
      [2, 30],
    ]);
    expect(retries[0].error.message).toContain("transient failure 1");
    const attempts = await ty.metadata.listAttempts(`${r.runId}:flaky`);
    expect(attempts.map((a) => a.status)).toEqual(["failed", "failed", "succeeded"]);
    expect(attempts[1].error?.message).toContain("transient failure 2");
    // A failed attempt's log ends with its error.
    const second = (await ty.metadata.getLogs(`${r.runId}:flaky`, 2)).map((l) => l.line);
    expect(second.slice(0, 2)).toEqual(["attempt 2", "error: Error: transient failure 2"]);
  });

  it("caps the delay at maxDelayMs", async () => {
    const { ty } = await homes.open();
    const p = pipeline("retry-cap");
    p.step("flaky", {
      retry: { attempts: 4, initialDelayMs: 5, backoff: 10, maxDelayMs: 20, jitter: 0 },
      run: (ctx) => {
        if (ctx.attempt < 4) throw new Error("again");
        return 1;
      },
    });
    const delays: number[] = [];
    await ty.run(p, { onEvent: (e) => e.type === "step-retry" && delays.push(e.delayMs) });
    expect(delays).toEqual([5, 20, 20]);
  });

  it("gives up after the last attempt and fails the run with the step's error", async () => {
    const { ty } = await homes.open();
    const q = pipeline("retry-exhausted");
    q.step("broken", {
      retry: { attempts: 3, initialDelayMs: 1 },
      run: () => Promise.reject(new Error("always broken")),
    });
    const r = await ty.run(q);
    expect(r.status).toBe("failed");
    expect(stepOf(r, "broken")).toMatchObject({ status: "failed", attempts: 3 });
    expect(r.error?.message).toContain("always broken");
    expect(r.error?.message).toContain('"broken"');
    expect(r.error?.code).toBe("STEP_FAILED");
  });

  it("never retries a Fatal error", async () => {
    const { ty } = await homes.open();
    let calls = 0;
    const p = pipeline("fatal");
    p.step("validate", {
      retry: { attempts: 5, initialDelayMs: 1 },
      run: () => {
        calls++;
        throw new Fatal("the schema is wrong; retrying will not help");
      },
    });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    expect(calls).toBe(1);
    expect(stepOf(r, "validate").attempts).toBe(1);
    expect(r.error?.message).toContain("the schema is wrong");
  });

  it("retries only the errors retryOn accepts", async () => {
    const { ty } = await homes.open();
    const calls = { transient: 0, permanent: 0 };
    const p = pipeline("retry-on");
    const policy = {
      attempts: 3,
      initialDelayMs: 1,
      retryOn: (e: unknown) => e instanceof Error && e.message.includes("transient"),
    };
    p.step("transient", {
      retry: policy,
      run: (ctx) => {
        calls.transient++;
        if (ctx.attempt === 1) throw new Error("transient network hiccup");
        return 1;
      },
    });
    p.step("permanent", {
      retry: policy,
      run: () => {
        calls.permanent++;
        throw new Error("permanent: bad credentials");
      },
    });
    const r = await ty.run(p, { concurrency: 1 });
    expect(calls).toEqual({ transient: 2, permanent: 1 });
    expect(stepOf(r, "transient")).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(stepOf(r, "permanent")).toMatchObject({ status: "failed", attempts: 1 });
  });
});

describe("timeouts", () => {
  it("fails an inline step that runs past its timeout with STEP_TIMEOUT and aborts its signal", async () => {
    const { ty } = await homes.open();
    let aborted = false;
    const p = pipeline("timeout");
    p.step("slow", {
      timeout: "80ms",
      run: async (ctx) => {
        ctx.signal.addEventListener("abort", () => (aborted = true));
        await sleep(5_000, ctx.signal);
        return "never";
      },
    });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    const s = stepOf(r, "slow");
    expect(s.status).toBe("failed");
    expect(s.error?.code).toBe("STEP_TIMEOUT");
    expect(s.error?.message).toContain('"slow"');
    expect(s.error?.message).toContain("80 ms");
    expect(aborted).toBe(true);
    const run = await ty.metadata.getRun(r.runId);
    expect(run!.status).toBe("failed");
    expect(run!.error?.code).toBe("STEP_TIMEOUT");
  });

  it("retries an attempt that timed out when the step has retries", async () => {
    const { ty } = await homes.open();
    const p = pipeline("timeout-retry");
    p.step("sometimes-slow", {
      timeout: 60,
      retry: { attempts: 2, initialDelayMs: 1 },
      run: async (ctx) => {
        if (ctx.attempt === 1) await sleep(5_000, ctx.signal);
        return ctx.attempt;
      },
    });
    const r = await ty.run(p);
    expect(r.status).toBe("succeeded");
    expect(await ty.output(r.runId, "sometimes-slow")).toBe(2);
    const attempts = await ty.metadata.listAttempts(`${r.runId}:sometimes-slow`);
    expect(attempts[0].error?.code).toBe("STEP_TIMEOUT");
  });

  it("rejects a timeout that is not a duration", async () => {
    const { ty } = await homes.open();
    const p = pipeline("timeout-bad");
    p.step("x", { timeout: "soon", run: () => 1 });
    const failure = await ty.run(p).then(
      (r) => stepOf(r, "x").error,
      (e: { code?: string }) => e,
    );
    expect(failure?.code).toBe("PIPELINE_INVALID");
  });

  it("reports an invalid timeout before any step runs (fail fast)", async () => {
    const { ty } = await homes.open();
    let expensiveRan = false;
    const p = pipeline("timeout-bad-late");
    const expensive = p.step("expensive", { run: () => ((expensiveRan = true), 1) });
    p.step("typo", { inputs: { expensive }, timeout: "10 minutes", run: () => 2 });
    const failure = await ty.run(p).then(
      (r) => ({ code: stepOf(r, "typo").error?.code, status: r.status }),
      (e: { code?: string }) => ({ code: e.code, status: "rejected" }),
    );
    expect(failure.code).toBe("PIPELINE_INVALID");
    expect(expensiveRan).toBe(false);
  });
});
