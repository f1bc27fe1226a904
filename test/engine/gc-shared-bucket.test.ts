/**
 * gc on one home keeps what a run in flight on another home needs, when both share the metadata
 * database and the bucket: that run's recorded pipeline bundle, its committed outputs, and an
 * object its store has uploaded but no record names yet, even with a grace period of 0. Once the
 * run has finished, the unnamed object goes and the recorded bundle stays.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeStepTask, STEP_TASK_VERSION } from "../../src/engine/step-task.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { taskFenceFor } from "../../src/store/task-fence-for.js";
import { REPO, tempDir } from "./support.js";
import { type S3Emulator, S3RVER_CREDENTIALS, startS3rver } from "../support/s3.js";

const FIXTURE = path.join(REPO, "test", "fixtures", "engine", "gc-in-flight.ts");
let emulator: S3Emulator;
let root: string;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

beforeAll(async () => {
  root = tempDir("ty-gc-shared-");
  emulator = await startS3rver(path.join(root, "server"));
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
});
afterAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = saved.id;
  process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  await emulator?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A home of its own (cache, journals, work dirs) on the shared metadata file and bucket prefix. */
function openHome(name: string): Promise<Trainyard> {
  return Trainyard.open({
    home: path.join(root, name),
    config: {
      metadata: { kind: "sqlite", file: path.join(root, "shared.db") },
      store: { artifacts: `s3://${emulator.bucket}/team`, endpoint: emulator.endpoint },
    },
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("gc on a bucket shared with another machine's run in flight", () => {
  it("keeps the run's bundle, outputs and not-yet-recorded objects through gc --grace 0", async () => {
    const machineA = await openHome("machine-a");
    const machineB = await openHome("machine-b");
    const gate = path.join(root, "gate");
    fs.mkdirSync(gate);
    const running = machineA.run(FIXTURE, { params: { dir: gate } });
    try {
      const run = await until("the run to reach its gate", async () => {
        const [r] = await machineB.metadata.listRuns({ pipeline: "gc-in-flight" });
        const rows = r && (await machineB.metadata.getStepRun(`${r.id}:rows`));
        return rows?.status === "succeeded" && r.bundleDigest ? r : undefined;
      });
      // The run's committed outputs that are objects (small values live inline in the metadata).
      const rowsObjects: string[] = [];
      for (const d of await machineB.metadata.digestsUsedByRuns([run.id]))
        if (await machineB.artifacts.has(d)) rowsObjects.push(d);
      expect(rowsObjects.length).toBeGreaterThan(0);
      // An upload of machine A's whose record has not committed: only its own journal names it.
      const unrecorded = (await machineA.artifacts.putBytes(randomBytes(2048))).digest;
      const bundle = run.bundleDigest as string;
      for (const d of [bundle, unrecorded]) expect(await machineB.artifacts.has(d)).toBe(true);

      const during = await machineB.gc({ graceMs: 0 });
      for (const d of [bundle, unrecorded, ...rowsObjects]) expect(await machineB.artifacts.has(d), d).toBe(true);
      expect(during.keptInFlight).toBeGreaterThanOrEqual(1);

      fs.writeFileSync(path.join(gate, "go"), "");
      expect((await running).status).toBe("succeeded");
      const after = await machineB.gc({ graceMs: 0 });
      expect(await machineB.artifacts.has(unrecorded)).toBe(false);
      expect(after.artifactsRemoved).toBeGreaterThanOrEqual(1);
      // The finished run is kept, and with it the code it ran: resume and workers find it by digest.
      expect((await machineB.metadata.getRun(run.id))?.bundleDigest).toBe(bundle);
      for (const d of [bundle, ...rowsObjects]) expect(await machineB.artifacts.has(d), d).toBe(true);
    } finally {
      fs.writeFileSync(path.join(gate, "go"), "");
      await running.catch(() => undefined);
      await machineA.close();
      await machineB.close();
    }
  });

  it("keeps the inputs and bundle of a task still open in the task fence of an interrupted run", async () => {
    const machineA = await openHome("queue-a");
    const machineB = await openHome("queue-b");
    try {
      const [input, bundle] = await Promise.all(
        [randomBytes(1024), randomBytes(1024)].map(async (b) => (await machineA.artifacts.putBytes(b)).digest),
      );
      const runId = "20260101-000000-fence1";
      await machineA.metadata.upsertPipeline("queued", "/srv/queued.ts");
      await machineA.metadata.createRun({
        ...{ id: runId, pipeline: "queued", modulePath: "/srv/queued.ts", params: {}, trigger: "manual" },
        ...{ status: "interrupted", codeVersion: "c", createdAt: Date.now(), options: {} },
      });
      const task = encodeStepTask({
        ...{
          version: STEP_TASK_VERSION,
          runId,
          pipeline: "queued",
          modulePath: "/srv/queued.ts",
          bundleDigest: bundle,
        },
        ...{
          stepId: "train",
          itemIndex: -1,
          params: {},
          inputs: { rows: { digest: input, path: [], stepId: "rows" } },
        },
        ...{ inputDigests: { rows: input }, stepRunId: `${runId}:train`, attemptId: "a1", attemptsBefore: 0 },
        ...{ queue: "default", priority: 1 },
      });
      const fences = await taskFenceFor(machineA.metadata);
      const fence = { stepRunId: `${runId}:train`, runId, attemptId: "a1", jobId: "j1", queue: "default", task };
      await fences.open(fence, Date.now());

      await machineB.gc({ graceMs: 0 });
      for (const d of [input, bundle]) expect(await machineB.artifacts.has(d), d).toBe(true);

      // Once the task's result is committed, nothing but the fence named them: they go.
      expect(await fences.settle(`${runId}:train`, "a1", "{}", Date.now())).toBe(true);
      await machineB.gc({ graceMs: 0 });
      for (const d of [input, bundle]) expect(await machineB.artifacts.has(d), d).toBe(false);
      await fences.close();
    } finally {
      await machineA.close();
      await machineB.close();
    }
  });
});
