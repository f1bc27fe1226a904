import { describe, expect, it } from "vitest";
import { evaluateGates, failedGates } from "../../src/lib/gates/evaluate-gates.js";

describe("gate verdicts", () => {
  it("absolute metric floors pass and fail with the margin in the message", () => {
    const [ok] = evaluateGates([{ kind: "metric", metric: "auc", min: 0.68 }], {
      candidate: { metrics: { auc: 0.7 } },
    });
    expect(ok.status).toBe("pass");
    const [bad] = evaluateGates([{ kind: "metric", metric: "auc", min: 0.68 }], {
      candidate: { metrics: { auc: 0.65 } },
    });
    expect(bad.status).toBe("fail");
    expect(bad.message).toContain("below the floor 0.68 by 0.03");
  });

  it("relative gates record no baseline on the first model, so only absolute gates decide", () => {
    const v = evaluateGates(
      [
        { kind: "metric", metric: "auc", min: 0.5 },
        { kind: "relative", metric: "auc", maxRegression: 0.002 },
        { kind: "significance", metric: "auc" },
      ],
      { candidate: { metrics: { auc: 0.7 } } },
    );
    expect(v.map((x) => x.status)).toEqual(["pass", "no-baseline", "no-baseline"]);
    expect(failedGates(v)).toHaveLength(0);
  });

  it("relative gates respect direction: a loss must go down", () => {
    const ev = { candidate: { metrics: { rmse: 10.5 } }, production: { metrics: { rmse: 10 } } };
    const [worse] = evaluateGates([{ kind: "relative", metric: "rmse", maxRegression: 0.1 }], ev);
    expect(worse.status).toBe("fail");
    const [improve] = evaluateGates([{ kind: "relative", metric: "rmse", minRelativeImprovement: 0.01 }], {
      candidate: { metrics: { rmse: 9.8 } },
      production: { metrics: { rmse: 10 } },
    });
    expect(improve.status).toBe("pass");
    const [tooLittle] = evaluateGates([{ kind: "relative", metric: "rmse", minRelativeImprovement: 0.01 }], {
      candidate: { metrics: { rmse: 9.95 } },
      production: { metrics: { rmse: 10 } },
    });
    expect(tooLittle.status).toBe("fail");
    expect(tooLittle.message).toContain("0.50%");
  });

  it("significance uses the bootstrap interval of the paired difference", () => {
    const production = { metrics: { auc: 0.69 } };
    const noisy = { auc: { low: -0.001, high: 0.004, mean: 0.0015, confidence: 0.95, samples: 500 } };
    expect(
      evaluateGates([{ kind: "significance", metric: "auc", require: "better" }], {
        candidate: { metrics: { auc: 0.6915 } },
        production,
        bootstrap: noisy,
      })[0].status,
    ).toBe("fail");
    expect(
      evaluateGates([{ kind: "significance", metric: "auc", require: "not-worse", margin: 0.002 }], {
        candidate: { metrics: { auc: 0.6915 } },
        production,
        bootstrap: noisy,
      })[0].status,
    ).toBe("pass");
    const clear = { auc: { low: 0.003, high: 0.008, mean: 0.005, confidence: 0.95, samples: 500 } };
    expect(
      evaluateGates([{ kind: "significance", metric: "auc", require: "better" }], {
        candidate: { metrics: { auc: 0.695 } },
        production,
        bootstrap: clear,
      })[0].status,
    ).toBe("pass");
  });

  it("fairness, latency and size gates report how far over the bound", () => {
    const v = evaluateGates(
      [
        { kind: "fairness", metric: "tpr", column: "origin", maxGap: 0.1 },
        { kind: "latency", p99Ms: 5 },
        { kind: "size", maxBytes: 1000 },
      ],
      {
        candidate: { metrics: {} },
        fairness: {
          "tpr:origin": { groups: { ORD: { rate: 0.5, count: 10 }, ATL: { rate: 0.7, count: 12 } }, gap: 0.2 },
        },
        latency: { p50Ms: 0.2, p99Ms: 7, samples: 100 },
        sizeBytes: 1500,
      },
    );
    expect(v.map((x) => x.status)).toEqual(["fail", "fail", "fail"]);
    expect(v[0].message).toContain("ORD");
    expect(v[1].message).toContain("by 2");
    expect(v[2].message).toContain("by 500");
  });
});
