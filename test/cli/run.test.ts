import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { useHomes, waitFor } from "../engine/support.js";
import { CLI_FIXTURE, SLOW_FIXTURE, cli, startCli, summaryOf } from "./support.js";

const homes = useHomes();
const home = () => homes.tempDir("ty-cli-home-");

async function outputs(h: string, runId: string, step: string): Promise<unknown> {
  const ty = await Trainyard.open({ home: h });
  try {
    return await ty.output(runId, step);
  } finally {
    await ty.close();
  }
}

describe("trainyard run", () => {
  it("prints a JSON summary with --json and exits 0 on success", async () => {
    const h = home();
    const r = await cli(["run", CLI_FIXTURE, "--json"], h);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const s = summaryOf(r);
    expect(s.runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
    expect(s.pipeline).toBe("cli-demo");
    expect(s.status).toBe("succeeded");
    expect(typeof s.durationMs).toBe("number");
    expect(s.steps.map((x) => x.step)).toEqual(["count", "label", "report", "check"]);
    for (const step of s.steps) {
      expect(step.status).toBe("succeeded");
      expect(step.cached).toBe(false);
      expect(step.attempts).toBe(1);
      expect(typeof step.durationMs).toBe("number");
    }
    expect(s.error).toBeUndefined();
  });

  it("reports every step as cached on a second run, in JSON and in words", async () => {
    const h = home();
    const first = summaryOf(await cli(["run", CLI_FIXTURE, "--json"], h));
    const second = await cli(["run", CLI_FIXTURE, "--json"], h);
    expect(second.code).toBe(0);
    const s = summaryOf(second);
    expect(s.runId).not.toBe(first.runId);
    expect(s.steps.every((x) => x.cached && x.status === "succeeded")).toBe(true);
    const text = await cli(["run", CLI_FIXTURE], h);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/0 ran, 4 reused from cache/);
    expect(text.stdout).toMatch(/every step was reused from the cache/);
  });

  it("exits 1 and reports the failing step and error when a step fails", async () => {
    const h = home();
    const r = await cli(["run", CLI_FIXTURE, "--param", "fail=true", "--json"], h);
    expect(r.code).toBe(1);
    const s = summaryOf(r);
    expect(s.status).toBe("failed");
    expect(s.steps.find((x) => x.step === "check")).toMatchObject({ status: "failed" });
    expect(s.steps.find((x) => x.step === "check")!.error).toContain("check failed on purpose");
    expect(s.error).toMatchObject({ code: "STEP_FAILED" });
    expect(s.error!.hint).toContain(`trainyard logs ${s.runId} check`);
    const text = await cli(["run", CLI_FIXTURE, "--param", "fail=true"], h);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("check failed on purpose");
  });

  it("exits 2 on usage errors", async () => {
    const h = home();
    const noModule = await cli(["run"], h);
    expect(noModule.code).toBe(2);
    expect(noModule.stderr).toMatch(/error\[USAGE\]/);
    expect(noModule.stderr).toContain("hint:");
    expect((await cli(["run", CLI_FIXTURE, "--bogus"], h)).code).toBe(2);
    expect((await cli(["run", CLI_FIXTURE, "--param", "no-equals"], h)).code).toBe(2);
    expect((await cli(["run", CLI_FIXTURE, "--concurrency", "0"], h)).code).toBe(2);
    const unknown = await cli(["frobnicate"], h);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect((await cli([], h)).code).toBe(2);
    const help = await cli(["help"], h);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: trainyard <command>");
  });

  it("coerces --param k=v to the declared types", async () => {
    const h = home();
    const r = summaryOf(
      await cli(["run", CLI_FIXTURE, "--param", "n=4", "--param", "label=123", "--param", "loud=true", "--json"], h),
    );
    expect(r.status).toBe("succeeded");
    expect(await outputs(h, r.runId, "count")).toEqual({ n: 4, type: "number" });
    expect(await outputs(h, r.runId, "label")).toEqual({ label: "123", labelType: "string", loudType: "boolean" });
  });

  it("applies --profile", async () => {
    const h = home();
    const r = summaryOf(await cli(["run", CLI_FIXTURE, "--profile", "big", "--json"], h));
    expect(await outputs(h, r.runId, "count")).toEqual({ n: 5, type: "number" });
    const shouty = summaryOf(
      await cli(["run", CLI_FIXTURE, "--profile", "shouty", "--param", "label=over", "--json"], h),
    );
    expect(await outputs(h, shouty.runId, "label")).toMatchObject({ label: "OVER" });
    const bad = await cli(["run", CLI_FIXTURE, "--profile", "nope"], h);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error\[PROFILE_UNKNOWN\]/);
    expect(bad.stderr).toContain("big");
  });

  it("recomputes everything with --force and one step with --force STEP", async () => {
    const h = home();
    await cli(["run", CLI_FIXTURE, "--json"], h);
    const all = summaryOf(await cli(["run", CLI_FIXTURE, "--force", "--json"], h));
    expect(all.steps.map((x) => x.cached)).toEqual([false, false, false, false]);
    const before = summaryOf(await cli(["run", "--force", "label", CLI_FIXTURE, "--json"], h));
    expect(Object.fromEntries(before.steps.map((x) => [x.step, x.cached]))).toEqual({
      count: true,
      label: false,
      report: true,
      check: true,
    });
    const after = summaryOf(await cli(["run", CLI_FIXTURE, "--force", "count", "--json"], h));
    expect(Object.fromEntries(after.steps.map((x) => [x.step, x.cached]))).toEqual({
      count: false,
      label: true,
      report: true,
      check: true,
    });
  });

  it("explains an unknown param: names it, lists the known ones, exits 1, records a failed run", async () => {
    const h = home();
    const r = await cli(["run", CLI_FIXTURE, "--param", "epochs=3"], h);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[UNKNOWN_PARAM]");
    expect(r.stderr).toContain('"epochs"');
    expect(r.stderr).toMatch(/hint: known params: n, label, loud, fail/);
    const runs = JSON.parse((await cli(["runs", "--json"], h)).stdout) as Array<{ status: string }>;
    expect(runs.map((x) => x.status)).toEqual(["failed"]);
  });

  it("explains an invalid param value", async () => {
    const h = home();
    const r = await cli(["run", CLI_FIXTURE, "--param", "n=lots"], h);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[PARAM_INVALID]");
    expect(r.stderr).toContain('"n"');
    expect(r.stderr).toContain("hint:");
  });

  it("explains a missing module file: names it and gives a hint", async () => {
    const h = home();
    const r = await cli(["run", "pipelines/missing-pipeline.ts"], h);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[MODULE_LOAD]");
    expect(r.stderr).toContain("missing-pipeline.ts");
    expect(r.stderr).toContain("hint:");
    expect(r.stdout).toBe("");
  });

  it("cancels on Ctrl-C: exit code 130 and the run recorded as cancelled", async () => {
    const h = home();
    const dir = homes.tempDir();
    const { child, done } = startCli(["run", SLOW_FIXTURE, "--param", `dir=${dir}`, "--json"], h);
    await waitFor(() => fs.existsSync(path.join(dir, "started")), "the slow step to start");
    child.kill("SIGINT");
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/cancelling/);
    const s = summaryOf(r);
    expect(s.status).toBe("cancelled");
    expect(s.steps.find((x) => x.step === "slow")!.status).toBe("cancelled");
    const ty = await Trainyard.open({ home: h });
    try {
      const [run] = await ty.metadata.listRuns();
      expect(run.id).toBe(s.runId);
      expect(run.status).toBe("cancelled");
      expect(run.finishedAt).toBeDefined();
      expect((await ty.metadata.getStepRun(`${run.id}:slow`))!.status).toBe("cancelled");
      expect((await ty.metadata.getStepRun(`${run.id}:first`))!.status).toBe("succeeded");
    } finally {
      await ty.close();
    }
  });
});
