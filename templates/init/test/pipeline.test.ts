// Runs the whole pipeline in a temporary home (`trainyard/testing`), as `npm test` does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runPipeline } from "trainyard/testing";

test("the pipeline trains, gates and deploys a penguin classifier", async () => {
  const run = await runPipeline(`${import.meta.dirname}/../pipeline.ts`);
  try {
    assert.equal(run.result.status, "succeeded", JSON.stringify(run.result.error));
    const { evaluation } = await run.output("evaluate");
    assert.ok(evaluation.candidate.metrics.accuracy >= 0.9, `accuracy ${evaluation.candidate.metrics.accuracy}`);
    const deployed = await run.output("deploy");
    assert.equal(deployed.alias, "production");
  } finally {
    await run.cleanup();
  }
});
