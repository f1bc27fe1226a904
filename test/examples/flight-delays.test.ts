/**
 * The flagship example end to end on real data (flights-3m.parquet), through the real CLI and a
 * real model server, on small samples so it fits a test run: land three months, train and
 * deploy; re-run from the cache; land a fourth month and retrain; serve and query the model.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = process.cwd();
const dir = mkdtempSync(join(tmpdir(), "ty-flagship-"));
const landing = join(dir, "landing");
const env = { ...process.env, TRAINYARD_HOME: join(dir, "home") };
const small = [
  "--param",
  `landing=${landing}`,
  "--param",
  "trainSample=0.05",
  "--param",
  "evalSample=0.1",
  "--param",
  "searchRows=20000",
  "--param",
  "rounds=20",
  "--param",
  "aucFloor=0.55",
  "--param",
  "maxTprGap=0.6",
  "--param",
  "maxP99Ms=100",
  "--concurrency",
  "2",
];

function cli(args: string[]) {
  return spawnSync(process.execPath, ["bin/trainyard.js", ...args], {
    cwd: root,
    env,
    encoding: "utf8",
    timeout: 300_000,
  });
}
function land(through: number) {
  const r = spawnSync(
    process.execPath,
    ["examples/flight-delays/land-data.mjs", "--through", String(through), "--landing", landing],
    { cwd: root, encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(0);
}
function run(): {
  runId: string;
  status: string;
  steps: Array<{ step: string; status: string; cached: boolean; items?: number }>;
} {
  const r = cli(["run", "examples/flight-delays/pipeline.ts", ...small, "--json"]);
  expect(r.stdout, r.stderr).toContain("runId");
  return JSON.parse(r.stdout);
}

beforeAll(() => land(3));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("flagship: flight delays", () => {
  let first: ReturnType<typeof run>;

  it("runs the whole flow and deploys version 1 to production", () => {
    first = run();
    expect(first.status).toBe("succeeded");
    const byStep = Object.fromEntries(first.steps.map((s) => [s.step, s]));
    for (const step of [
      "ingest-month",
      "split",
      "profile",
      "drift",
      "features",
      "search",
      "train",
      "evaluate",
      "gates",
      "register",
      "deploy",
    ]) {
      expect(byStep[step]?.status, step).toBe("succeeded");
    }
    expect(byStep["ingest-month"].items).toBe(3);
    const models = cli(["models", "show", "flight-delays", "--json"]);
    expect(models.status, models.stderr).toBe(0);
    const shown = JSON.parse(models.stdout);
    expect(JSON.stringify(shown)).toContain('"production"');
  });

  it("a re-run reuses every step from the cache but the registry steps, and says why", () => {
    const second = run();
    expect(second.status).toBe("succeeded");
    const ran = second.steps
      .filter((s) => !s.cached)
      .map((s) => s.step)
      .sort();
    // Only the registry steps, which read or change the registry, run every time; production now
    // holds this candidate, so it is still compared with what it replaced and evaluate is cached.
    expect(ran).toEqual(["deploy", "production", "register"]);
    expect(cli(["why", second.runId, "train"]).stdout).toContain("cache hit");
    expect(cli(["why", second.runId, "evaluate"]).stdout).toContain("cache hit");
  });

  it("a newly landed month reruns only what it changes, and retrains", () => {
    land(4);
    const next = run();
    expect(["succeeded", "rejected"]).toContain(next.status);
    const why = cli(["why", next.runId, "ingest-month"]);
    expect(why.stdout).toContain("4 items: 3 reused from the cache, 1 ran");
    const train = cli(["why", next.runId, "train"]);
    expect(train.stdout).toMatch(/input `train` changed/);
    const shown = cli(["show", next.runId]);
    expect(shown.stdout).toContain("gates (gates)");
    if (next.status === "rejected") expect(next.steps.find((s) => s.step === "deploy")!.status).toBe("skipped");
  });

  it("serves the production model over HTTP with the stored feature transforms", async () => {
    const server = spawn(process.execPath, ["bin/trainyard.js", "serve", "--port", "0"], { cwd: root, env });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        server.stdout.on("data", (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        server.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const row = { date: "2001-04-12T17:05:00Z", distance: 733, origin: "ORD", destination: "LGA" };
      const ok = await fetch(`${url}/v1/models/flight-delays/production:predict`, {
        method: "POST",
        body: JSON.stringify({ rows: [row] }),
      });
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { predictions: Array<{ score: number }> };
      expect(body.predictions[0].score).toBeGreaterThan(0);
      expect(body.predictions[0].score).toBeLessThan(1);
      const bad = await fetch(`${url}/v1/models/flight-delays/production:predict`, {
        method: "POST",
        body: JSON.stringify({ rows: [{ ...row, distance: "far" }] }),
      });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toContain("distance");
    } finally {
      server.kill();
    }
  });
});
