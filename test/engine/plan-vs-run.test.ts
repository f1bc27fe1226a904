/**
 * `plan` agrees with `run`: for every test pipeline fixture, and for a pipeline of landed months
 * through appended data, a changed param, edited code and --force, each decision the plan makes
 * is the one the run then makes (see plan-agreement.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { planThenRun } from "./plan-agreement.js";
import { FIXTURES, REPO, useHomes } from "./support.js";

const homes = useHomes();

function landMonth(dir: string, month: string, values: number[]): void {
  fs.writeFileSync(path.join(dir, `${month}.csv`), `${values.join("\n")}\n`);
}

describe("plan agrees with run on landed months", () => {
  it("through a first run, a no-change re-run, appended data, a param change, edited code and --force", async () => {
    const { ty } = await homes.open();
    const dir = homes.fixtureDir();
    const landing = homes.tempDir("ty-landing-");
    const mod = path.join(dir, "landed-months.ts");
    fs.copyFileSync(path.join(FIXTURES, "landed-months.ts"), mod);
    landMonth(landing, "2024-01", [1, 2, 3]);
    landMonth(landing, "2024-02", [4, 5]);
    const params = { landing };

    const fresh = await planThenRun(ty, mod, { params });
    expect(fresh.run.status).toBe("succeeded");
    expect(fresh.planned).toMatchObject({
      partitions: "run",
      label: "run",
      "read-month": "depends",
      report: "depends",
    });

    const same = await planThenRun(ty, mod, { params });
    expect(Object.values(same.planned).every((a) => a.startsWith("reuse"))).toBe(true);

    // A month lands: the listing reruns; the old months' items and what reads only them are reused.
    landMonth(landing, "2024-03", [6]);
    const appended = await planThenRun(ty, mod, { params });
    expect(appended.plan.steps.find((s) => s.step === "partitions")!.reasons.join("\n")).toMatch(
      /2024-03\.csv is now used/,
    );
    expect(appended.planned).toMatchObject({
      partitions: "run",
      label: "reuse",
      "read-month": "depends",
      "first-report": "depends",
    });
    expect(appended.did).toMatchObject({
      "read-month": "run 2/3",
      totals: "run",
      "first-month": "run",
      "first-report": "reuse",
    });

    // A month rewritten in place reruns the listing, whose output (the paths) is unchanged: the
    // plan cannot know that, the run then reuses everything after it.
    landMonth(landing, "2024-02", [4, 5, 7]);
    const edited = await planThenRun(ty, mod, { params });
    expect(edited.planned).toMatchObject({ partitions: "run", "read-month": "depends", totals: "depends" });
    expect(edited.did).toMatchObject({
      partitions: "run",
      "read-month": "reuse 3/3",
      totals: "reuse",
      report: "reuse",
    });

    const scaled = await planThenRun(ty, mod, { params: { ...params, scale: 2 } });
    expect(scaled.planned).toMatchObject({
      partitions: "reuse",
      "read-month": "reuse 3/3",
      totals: "run",
      sorted: "depends",
    });
    expect(scaled.plan.steps.find((s) => s.step === "totals")!.reasons.join("\n")).toContain(
      "param `scale` changed 1 -> 2",
    );

    // Edited code of one step: it reruns; a step whose output did not change stops the ripple.
    const text = fs.readFileSync(mod, "utf8").replace("`${label}: ${", "`${label} - ${");
    fs.writeFileSync(mod, text);
    const recoded = await planThenRun(ty, mod, { params: { ...params, scale: 2 } });
    expect(recoded.planned).toMatchObject({ report: "run", totals: "reuse", label: "reuse" });
    expect(recoded.plan.steps.find((s) => s.step === "report")!.reasons.join("\n")).toMatch(/code changed/);

    const forced = await planThenRun(ty, mod, { params: { ...params, scale: 2 }, force: ["label"] });
    expect(forced.planned).toMatchObject({ label: "run", report: "depends", totals: "reuse" });
    expect(forced.did).toMatchObject({ label: "run", report: "reuse" });
  });
});

/** Each fixture with the params it needs, and a second request that changes something. */
const FIXTURE_RUNS: Array<{
  file: string;
  params: (dir: string) => Record<string, unknown>;
  change?: Record<string, unknown>;
}> = [
  { file: "test/fixtures/demo-pipeline.ts", params: () => ({}), change: { n: 4 } },
  { file: "test/fixtures/engine/cli-pipeline.ts", params: () => ({}), change: { n: 7 } },
  { file: "test/fixtures/engine/isolated.ts", params: (dir) => ({ dir }), change: { mode: "file" } },
  { file: "test/fixtures/engine/isolated-hang.ts", params: (dir) => ({ dir }) },
  { file: "test/fixtures/engine/leased.ts", params: (dir) => ({ dir, log: path.join(dir, "log") }) },
  { file: "test/fixtures/engine/resumable.ts", params: (dir) => ({ dir }), change: { failOnce: true } },
  { file: "test/fixtures/faults/fault-dag.ts", params: (dir) => ({ dir, pause: 0 }), change: { pause: 0.01 } },
  { file: "test/fixtures/daemon/ticking.ts", params: () => ({}), change: { n: 2 } },
  { file: "test/fixtures/daemon/landing.ts", params: () => ({}) },
  { file: "test/fixtures/engine/landed-months.ts", params: (dir) => ({ landing: dir }), change: { scale: 3 } },
  { file: "test/fixtures/engine/tracked.ts", params: () => ({ epochs: 2 }), change: { lr: 0.2 } },
  { file: "test/fixtures/api/api-pipeline.ts", params: () => ({}), change: { shift: 1 } },
  { file: "test/fixtures/daemon/campaign.ts", params: () => ({}) },
  { file: "test/fixtures/daemon/overlapping.ts", params: () => ({}), change: { slow: 1 } },
  { file: "test/fixtures/experiments/experiment-pipeline.ts", params: () => ({}), change: { lr: 0.1 } },
  { file: "test/fixtures/ui/ui-checks.ts", params: () => ({ lines: 3 }), change: { lines: 4 } },
];
// Not here: test/fixtures/engine/cli-slow.ts, whose step waits 20 s for a cancellation.
// Nor the examples/ pipelines: they read data sets and train for minutes.

describe("plan agrees with run on every test pipeline fixture", () => {
  for (const fixture of FIXTURE_RUNS) {
    it(fixture.file, async () => {
      const { ty } = await homes.open();
      const dir = homes.tempDir("ty-fixture-");
      // What the fixtures wait for (leased: "go", resumable: "marker") is there from the start.
      for (const f of ["go", "marker"]) fs.writeFileSync(path.join(dir, f), "");
      fs.writeFileSync(path.join(dir, "2024-01.csv"), "1\n2\n");
      const file = path.join(REPO, fixture.file);
      const params = fixture.params(dir);
      await planThenRun(ty, file, { params });
      const again = await planThenRun(ty, file, { params });
      expect(again.plan.steps.length).toBeGreaterThan(0);
      if (fixture.change) await planThenRun(ty, file, { params: { ...params, ...fixture.change } });
    });
  }
});
