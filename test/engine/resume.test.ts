import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { hashTree } from "../../src/store/file-hash.js";
import { FIXTURES, REPO, processAlive, rejectionOf, stepOf, waitFor } from "./support.js";

const MODULE = path.join(FIXTURES, "resumable.ts");
const BIN = path.join(REPO, "bin", "trainyard.js");

function cli(
  args: string[],
  home: BackendHome,
): {
  child: ReturnType<typeof spawn>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ...home.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const count = (dir: string, name: string) =>
  fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name), "utf8").length : 0;
import { type BackendHome, engineBackends, useBackendHomes } from "./engine-backends.js";

for (const backend of engineBackends()) {
  backend.describe(`on ${backend.label} metadata`, () => {
    const homes = useBackendHomes(backend);

    describe("durability", () => {
      it("survives SIGKILL mid-run: the store stays consistent and resume reuses finished steps", async () => {
        const backendHome = await homes.newHome();
        const home = backendHome.home;
        const dir = homes.tempDir("ty-resume-dir-");
        const { child, done } = cli(["run", MODULE, "--param", `dir=${dir}`, "--json"], backendHome);
        await waitFor(() => fs.existsSync(path.join(dir, "marker")), "the slow step to start");
        child.kill("SIGKILL");
        const killed = await done;
        expect(killed.signal).toBe("SIGKILL");
        expect(count(dir, "fast.count")).toBe(1);

        // The database opens and says the run is still running, with the fast step done.
        const opened = await homes.openAt(backendHome);
        const meta = opened.metadata;
        let runId: string;
        try {
          const runs = await meta.listRuns();
          expect(runs).toHaveLength(1);
          expect(runs[0].status).toBe("running");
          runId = runs[0].id;
          const fast = await meta.getStepRun(`${runId}:fast`);
          expect(fast).toMatchObject({ status: "succeeded", attempts: 1 });
          expect(fast!.outputDigest).toBeTruthy();
          expect((await meta.getStepRun(`${runId}:slow`))?.status).toBe("running");
        } finally {
          await opened.close();
        }

        // No stored object has content that differs from its digest.
        const store = new FsArtifactStore(path.join(home, "artifacts"));
        const objects = await store.list();
        expect(objects.length).toBeGreaterThan(0);
        for (const digest of objects) {
          const p = await store.localPath(digest);
          const actual = fs.statSync(p).isDirectory()
            ? (await hashTree(p)).digest
            : `sha256:${createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`;
          expect(actual, `object ${digest}`).toBe(digest);
        }

        const resumed = cli(["resume", runId!, "--json"], backendHome);
        const res = await resumed.done;
        expect(res.stderr).not.toMatch(/error\[/);
        expect(res.code).toBe(0);
        const summary = JSON.parse(res.stdout) as {
          runId: string;
          status: string;
          steps: Array<{ step: string; status: string; attempts: number; cached: boolean }>;
        };
        expect(summary.runId).toBe(runId!);
        expect(summary.status).toBe("succeeded");
        const fastSummary = summary.steps.find((s) => s.step === "fast")!;
        expect(fastSummary).toMatchObject({ status: "succeeded", attempts: 1 });
        expect(count(dir, "fast.count")).toBe(1);
        expect(count(dir, "slow.count")).toBe(2);

        const ty = await homes.openAt(backendHome);
        try {
          const run = await ty.metadata.getRun(runId!);
          expect(run!.status).toBe("succeeded");
          expect(run!.trigger).toBe("manual");
          expect((await ty.metadata.getStepRun(`${runId!}:fast`))!.attempts).toBe(1);
          // The step that finished before the kill keeps the one output record it had: resume adds none.
          for (const step of ["fast", "slow", "last"]) {
            const outputs = (await ty.metadata.lineageOfStepRun(`${runId!}:${step}`)).filter(
              (e) => e.direction === "out" && e.name === "output",
            );
            expect(outputs, `${step}'s output lineage`).toHaveLength(1);
          }
          expect(await ty.output(runId!, "last")).toBe(20);
          const slowAttempts = await ty.metadata.listAttempts(`${runId!}:slow`);
          expect(slowAttempts.length).toBeGreaterThanOrEqual(1);
        } finally {
          await ty.close();
        }
      });

      it("refuses to resume a run whose process is still alive, and a run that already succeeded", async () => {
        const backendHome = await homes.newHome();
        const dir = homes.tempDir("ty-resume-dir-");
        const { child, done } = cli(["run", MODULE, "--param", `dir=${dir}`, "--quiet"], backendHome);
        await waitFor(() => fs.existsSync(path.join(dir, "marker")), "the slow step to start");
        const ty = await homes.openAt(backendHome);
        try {
          const [run] = await ty.metadata.listRuns();
          expect(run.pid).toBe(child.pid);
          const alive = await rejectionOf(ty.resume(run.id));
          expect(alive.code).toBe("RUN_OWNED");
          expect(alive.message).toContain(`pid ${child.pid}`);
          expect(alive.hint).toContain(`kill ${child.pid}`);
          const finished = await done;
          expect(finished.code).toBe(0);
          const again = await rejectionOf(ty.resume(run.id));
          expect(again.code).toBe("RUN_NOT_RESUMABLE");
          const missing = await rejectionOf(ty.resume("no-such-run"));
          expect(missing.code).toBe("NOT_FOUND");
        } finally {
          await ty.close();
          if (child.pid && processAlive(child.pid)) child.kill("SIGKILL");
        }
      });

      it("resumes a failed run: finished steps are reused and the run's old error is cleared", async () => {
        const { ty } = await homes.open();
        const dir = homes.tempDir("ty-resume-dir-");
        const r1 = await ty.run(MODULE, { params: { dir, failOnce: true } });
        expect(r1.status).toBe("failed");
        expect((await ty.metadata.getRun(r1.runId))!.error?.message).toContain("slow failed the first time");
        expect(stepOf(r1, "last").status).toBe("skipped");

        const r2 = await ty.resume(r1.runId);
        expect(r2.runId).toBe(r1.runId);
        expect(r2.status).toBe("succeeded");
        expect(count(dir, "fast.count")).toBe(1);
        expect(count(dir, "slow.count")).toBe(2);
        expect(stepOf(r2, "fast").attempts).toBe(1);
        expect(stepOf(r2, "last").status).toBe("succeeded");
        const run = await ty.metadata.getRun(r1.runId);
        expect(run!.status).toBe("succeeded");
        expect(run!.error).toBeUndefined();
      });
    });
  });
}
