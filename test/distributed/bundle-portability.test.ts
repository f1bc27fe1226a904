/**
 * A worker installed at another path than the orchestrator (its own copy of Trainyard, its own
 * project folder with its own node_modules) runs a pipeline bundle that imports Trainyard and a
 * package: the bundle's imports are relinked to the worker's install, and the outputs have the
 * digests of a local run. The orchestrator's copy of the package is removed before the worker
 * loads the bundle, so a bundle still naming it fails the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { registerQueueExecutor } from "../../src/distributed/register-queue-executor.js";
import { loadPipelineModule } from "../../src/engine/module-loader.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { REPO, tempDir, waitFor } from "../engine/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { QUEUE_TIMING } from "./cluster.js";

const PIPELINE = `
import { factor } from "scale-by";
import { pipeline } from "trainyard";
const p = pipeline("portable", {});
const source = p.step("source", { run: () => Array.from({ length: 20 }, (_, i) => i) });
p.step("scaled", { inputs: { source }, run: (_ctx, { source }) => source.map((x) => x * factor) });
export default p;
`;

/** A package of one module in `<dir>/node_modules/scale-by`. */
function writePackage(dir: string): void {
  const pkg = path.join(dir, "node_modules", "scale-by");
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(
    path.join(pkg, "package.json"),
    JSON.stringify({ name: "scale-by", type: "module", main: "index.js" }),
  );
  fs.writeFileSync(path.join(pkg, "index.js"), "export const factor = 3;\n");
}

const gate = requireTools("postgresql");
gate.describe("a worker with its own install layout", () => {
  let root: string;
  let postgres: TestPostgres;
  let worker: ChildProcess;
  let stderr = "";
  const install = () => path.join(root, "other-install");
  const project = () => path.join(root, "worker-project");
  const orchestratorProject = () => path.join(root, "orchestrator-project");

  beforeAll(async () => {
    registerQueueExecutor();
    root = tempDir("ty-portable-");
    postgres = await startPostgres();
    // A second Trainyard install: its own package.json, bin/ and dist/, the dependencies linked.
    fs.mkdirSync(install());
    for (const part of ["package.json", "bin", "dist"])
      fs.cpSync(path.join(REPO, part), path.join(install(), part), { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(REPO, "node_modules")), path.join(install(), "node_modules"));
    writePackage(orchestratorProject());
    writePackage(project());
  }, 120_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const gone = new Promise((r) => worker.once("exit", r));
      worker.kill("SIGKILL");
      await gone;
    }
    await postgres?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  gate.it(
    "relinks the bundle to the worker's Trainyard and packages, with a local run's digests",
    async () => {
      const artifacts = { kind: "fs" as const, root: path.join(root, "artifacts") };
      const executor = { kind: "queue", postgres: postgres.url, ...QUEUE_TIMING };
      const config = path.join(project(), "trainyard.config.mjs");
      const stores = { metadata: { kind: "postgres" as const, url: postgres.url }, artifacts, executor };
      fs.writeFileSync(config, `export default ${JSON.stringify(stores)};\n`);
      const home = path.join(root, "worker-home");
      worker = spawn(process.execPath, [path.join(install(), "bin", "trainyard.js"), "worker", "--config", config], {
        cwd: project(),
        env: { ...process.env, NO_COLOR: "1", TRAINYARD_HOME: home, TRAINYARD_CACHE_DIR: path.join(home, "cache") },
        stdio: ["ignore", "ignore", "pipe"],
      });
      worker.stderr!.on("data", (d) => (stderr += d));
      await waitFor(() => / takes /.test(stderr) || worker.exitCode !== null, "the worker to start", 60_000);
      expect(worker.exitCode, stderr).toBeNull();

      const file = path.join(orchestratorProject(), "pipeline.ts");
      fs.writeFileSync(file, PIPELINE);
      const ty = await Trainyard.open({
        home: path.join(root, "orchestrator-home"),
        metadata: stores.metadata,
        artifacts,
        executor,
      });
      try {
        // Bundled and loaded here first; then the orchestrator's copy of the package goes away.
        await loadPipelineModule(file, ty.cacheDir);
        const moved = path.join(orchestratorProject(), "node_modules-away");
        fs.renameSync(path.join(orchestratorProject(), "node_modules"), moved);
        const result = await ty.run(file, { concurrency: 2 });
        fs.renameSync(moved, path.join(orchestratorProject(), "node_modules"));
        expect(result.error, stderr).toBeUndefined();
        expect(result.status).toBe("succeeded");
        expect(await ty.output(result.runId, "scaled")).toEqual(Array.from({ length: 20 }, (_, i) => i * 3));
        expect(stderr).toMatch(new RegExp(`succeeded ${result.runId} scaled\\b`));

        // The bundle the worker ran names its own install and project, not the orchestrator's.
        const bundles = path.join(home, "cache", "worker-bundles");
        const code = fs
          .readdirSync(bundles)
          .map((f) => fs.readFileSync(path.join(bundles, f), "utf8"))
          .join("\n");
        const imports = [...code.matchAll(/from "(file:[^"]+)"/g)].map((m) => m[1]);
        expect(imports.length).toBeGreaterThanOrEqual(2);
        for (const url of imports)
          expect(url.startsWith(`file://${install()}/`) || url.startsWith(`file://${project()}/`), url).toBe(true);

        const local = await Trainyard.open({ home: path.join(root, "local-home") });
        try {
          const localRun = await local.run(file, { concurrency: 2 });
          const digests = async (t: Trainyard, runId: string) =>
            Object.fromEntries((await t.metadata.listStepRuns(runId)).map((s) => [s.stepId, s.outputDigest]));
          expect(await digests(ty, result.runId)).toEqual(await digests(local, localRun.runId));
        } finally {
          await local.close();
        }
      } finally {
        await ty.close();
      }
    },
    180_000,
  );
});
