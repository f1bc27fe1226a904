/** The forms a metric can take on its way in, and the goal a metric's name implies. */
import { describe, expect, it } from "vitest";
import { metricProblem, parseMetricsLine } from "../../src/engine/metric-input.js";
import { metricGoal } from "../../src/store/metric-records.js";

describe("metric input", () => {
  it("reads the three line forms of $TRAINYARD_METRICS", () => {
    expect(parseMetricsLine('{"name": "val_auc", "value": 0.71, "step": 3, "goal": "max"}')).toEqual({
      metrics: [{ name: "val_auc", value: 0.71, step: 3, goal: "max" }],
      tags: [],
    });
    expect(parseMetricsLine('{"loss": 0.4, "acc": 0.8, "epoch": 2}')).toEqual({
      metrics: [
        { name: "loss", value: 0.4, step: 2 },
        { name: "acc", value: 0.8, step: 2 },
      ],
      tags: [],
    });
    expect(parseMetricsLine('{"tag": "framework", "value": "xgboost"}')).toEqual({
      metrics: [],
      tags: [["framework", "xgboost"]],
    });
  });

  it("describes what is wrong with a line instead of throwing", () => {
    expect(parseMetricsLine("loss=0.4")).toMatchObject({ problem: expect.stringMatching(/^it is not JSON/) });
    expect(parseMetricsLine("[1, 2]")).toEqual({ problem: "it is not a JSON object" });
    expect(parseMetricsLine('{"epoch": 3}')).toEqual({ problem: "it names no metric" });
    expect(parseMetricsLine('{"loss": "low"}')).toMatchObject({
      problem: expect.stringContaining('"low", not a finite number'),
    });
    expect(parseMetricsLine('{"name": "x", "value": 1, "goal": "up"}')).toMatchObject({
      problem: expect.stringContaining('use "max" or "min"'),
    });
    expect(metricProblem("auc", Number.POSITIVE_INFINITY)).toContain("not a finite number");
    expect(metricProblem("", 1)).toContain("non-empty string");
    expect(metricProblem("auc", 0.5, { step: 1 })).toBeUndefined();
  });

  it("infers lower is better from the name, unless a goal is declared", () => {
    for (const name of [
      "loss",
      "val_loss",
      "log_loss",
      "rmse",
      "latency_p99_ms",
      "fit_seconds",
      "error_rate",
      "brier",
    ]) {
      expect(metricGoal(name), name).toBe("min");
    }
    for (const name of ["auc", "pr_auc", "accuracy", "r2", "f1", "terror", "msg_count"])
      expect(metricGoal(name), name).toBe("max");
    expect(metricGoal("auc", "min")).toBe("min");
  });
});
