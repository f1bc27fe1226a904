/**
 * The executor port: every step of a pipeline (plain, map items, picked inputs, a command, an
 * isolated step) is handed over as a StepTask that survives JSON, and the local executor runs
 * the decoded task to the output digests a direct run gives; results cross JSON too, so the
 * scheduler reads outputs back by digest as it does for a remote executor. An executor name
 * nothing registered fails before any run is recorded, naming the registered ones.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ExecutorRegistry } from "../../src/engine/executor-registry.js";
import { LocalExecutor } from "../../src/engine/local-executor.js";
import {
  decodeStepTask,
  decodeStepTaskResult,
  encodeStepTask,
  encodeStepTaskResult,
  type StepTask,
} from "../../src/engine/step-task.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { cli } from "../cli/support.js";
import { REPO, useHomes } from "./support.js";

const homes = useHomes();
const DEMO = path.join(REPO, "test/fixtures/demo-pipeline.ts");

/** The local executor, given each task and result only as they come back from JSON. */
function jsonRoundTrip(seen: StepTask[]): ExecutorRegistry {
  return new ExecutorRegistry([
    [
      "json-local",
      (ctx) => {
        const local = new LocalExecutor(ctx);
        return {
          name: "json-local",
          capacity: local.capacity,
          hasRoom: (task) => local.hasRoom(task && decodeStepTask(encodeStepTask(task))),
          async submit(task, onEvent) {
            const decoded = decodeStepTask(encodeStepTask(task));
            seen.push(decoded);
            return decodeStepTaskResult(encodeStepTaskResult(await local.submit(decoded, onEvent)));
          },
          cancel: (id, reason) => local.cancel(id, reason),
          close: () => local.close(),
        };
      },
    ],
  ]);
}

async function outputDigests(ty: Trainyard, runId: string): Promise<Record<string, string | undefined>> {
  const records = await ty.metadata.listStepRuns(runId);
  return Object.fromEntries(records.map((r) => [r.id.slice(runId.length + 1), r.outputDigest]));
}

describe("the executor port", () => {
  it("runs StepTasks decoded from JSON to the output digests of a direct run", async () => {
    const { ty: direct } = await homes.open();
    const first = await direct.run(DEMO, { concurrency: 2 });
    expect(first.status).toBe("succeeded");
    const expected = await outputDigests(direct, first.runId);

    const seen: StepTask[] = [];
    const home = homes.tempDir("ty-home-");
    const ty = await Trainyard.open({ home, executor: "json-local", executors: jsonRoundTrip(seen) });
    try {
      const second = await ty.run(DEMO, { concurrency: 2 });
      expect(second.status).toBe("succeeded");
      expect(second.steps.every((s) => !s.cached)).toBe(true);
      expect(await outputDigests(ty, second.runId)).toEqual(expected);

      // One task per step and per map item, each plain data that names the stored bundle.
      const ids = seen.map((t) => t.stepRunId.slice(second.runId.length + 1)).sort();
      expect(ids).toEqual(["cmd", "file", "iso", "items", "square[0]", "square[1]", "square[2]"]);
      for (const task of seen) {
        expect(JSON.parse(JSON.stringify(task))).toEqual(task);
        expect(await ty.artifacts.has(task.bundleDigest!)).toBe(true);
      }
      expect(new Set(seen.map((t) => t.bundleDigest)).size).toBe(1);
      expect(new Set(seen.map((t) => t.attemptId)).size).toBe(seen.length);
      const item = seen.find((t) => t.stepId === "square" && t.itemIndex === 2)!;
      expect(item.over).toMatchObject({ stepId: "items", path: [] });
      expect(item.inputDigests.over).toBe(item.over!.digest);
      const cmd = seen.find((t) => t.stepId === "cmd")!;
      expect(cmd.inputs.f).toMatchObject({ stepId: "file", path: ["f"] });
      expect(seen.find((t) => t.stepId === "iso")!.params).toEqual({ lr: 0.1 });
    } finally {
      await ty.close();
    }
  });

  it("records a step's duration as its executor measured it, without the result's way back", async () => {
    // The local executor behind a slow way back: each result reaches the scheduler 300 ms after it ended.
    const reported = new Map<string, number>();
    const executors = new ExecutorRegistry([
      [
        "slow-return",
        (ctx) => {
          const local = new LocalExecutor(ctx);
          return {
            name: "slow-return",
            capacity: local.capacity,
            hasRoom: (task) => local.hasRoom(task),
            async submit(task, onEvent) {
              const result = await local.submit(task, onEvent);
              if (result.status === "succeeded") reported.set(task.stepRunId, result.finishedAt! - result.startedAt);
              await new Promise((resolve) => setTimeout(resolve, 300));
              return result;
            },
            cancel: (id, reason) => local.cancel(id, reason),
            close: () => local.close(),
          };
        },
      ],
    ]);
    const ty = await Trainyard.open({ home: homes.tempDir("ty-home-"), executor: "slow-return", executors });
    try {
      const run = await ty.run(DEMO, { concurrency: 2 });
      expect(run.status).toBe("succeeded");
      const records = await ty.metadata.listStepRuns(run.runId);
      const ran = records.filter((r) => reported.has(r.id));
      expect(ran.map((r) => r.stepId).sort()).toEqual(["cmd", "file", "iso", "items", "square", "square", "square"]);
      for (const r of ran) {
        expect(r.durationMs).toBe(reported.get(r.id));
        expect(r.finishedAt! - r.startedAt!).toBe(r.durationMs);
      }
    } finally {
      await ty.close();
    }
  });

  it("refuses a task or result in another format version, naming the mismatch", () => {
    expect(() => decodeStepTask('{"version":99}')).toThrow(/TASK_INVALID|version is 99/);
    expect(() => decodeStepTask("not json")).toThrow(/invalid step task: it is not JSON/);
  });

  it("fails an unknown executor name before recording a run, naming the registered ones", async () => {
    const home = homes.tempDir("ty-home-");
    const ty = await Trainyard.open({ home, config: { executor: "nope" }, configFile: "/x/trainyard.config.ts" });
    try {
      const err = await ty.run(DEMO).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "EXECUTOR_UNKNOWN" });
      expect((err as Error).message).toContain('unknown executor "nope" (in /x/trainyard.config.ts)');
      expect((err as { hint: string }).hint).toContain('"local"');
      expect(await ty.metadata.listRuns({ limit: 10 })).toEqual([]);
    } finally {
      await ty.close();
    }
  });

  it("says so on the command line when trainyard.config.ts names an executor nothing registered", async () => {
    const dir = homes.fixtureDir();
    fs.copyFileSync(DEMO, path.join(dir, "pipeline.ts"));
    fs.writeFileSync(path.join(dir, "trainyard.config.ts"), 'export default { executor: { kind: "gpu-farm" } };\n');
    const r = await cli(["run", path.join(dir, "pipeline.ts")], homes.tempDir("ty-home-"), { cwd: dir });
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain('unknown executor "gpu-farm"');
    expect(r.stderr).toContain('"local"');
  });
});
