import { describe, expect, it } from "vitest";
import { pipeline, Rejected } from "trainyard";
import { runPipeline } from "trainyard/testing";

describe("a rejecting gate", () => {
  it("stores its verdicts, skips side effects downstream and ends the run rejected", async () => {
    let deployed = 0;
    const p = pipeline("gate-demo");
    const score = p.step("score", { run: () => ({ auc: 0.6 }) });
    const gates = p.step("gates", {
      inputs: { score },
      run: (_ctx, { score }) => {
        const verdicts = [{ gate: "auc >= 0.68", status: score.auc >= 0.68 ? "pass" : "fail" }];
        if (verdicts.some((v) => v.status === "fail"))
          throw new Rejected("gate auc >= 0.68 failed: 0.6 is below the floor by 0.08", { output: verdicts });
        return verdicts;
      },
    });
    p.step("deploy", { inputs: { gates }, run: () => ++deployed });
    p.step("independent", { run: () => "still runs" });
    const t = await runPipeline(p);
    try {
      expect(t.result.status).toBe("rejected");
      expect(deployed).toBe(0);
      const byStep = Object.fromEntries(t.result.steps.map((s) => [s.step, s.status]));
      expect(byStep).toEqual({ score: "succeeded", gates: "rejected", deploy: "skipped", independent: "succeeded" });
      expect(t.result.error?.message).toContain("below the floor by 0.08");
      const records = await t.trainyard.metadata.listStepRuns(t.result.runId);
      const gateRecord = records.find((r) => r.stepId === "gates")!;
      expect(gateRecord.status).toBe("rejected");
      expect(await t.trainyard.io.load(gateRecord.outputDigest!)).toEqual([{ gate: "auc >= 0.68", status: "fail" }]);
      expect(records.find((r) => r.stepId === "deploy")!.reason).toContain('step "gates" rejected the candidate');
      expect((await t.trainyard.metadata.getRun(t.result.runId))!.status).toBe("rejected");
    } finally {
      await t.cleanup();
    }
  });
});
