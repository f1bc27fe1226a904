/** `trainyard models ...` and `trainyard lineage <model>@<version>` as child processes on a real home. */
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { openModelHome, trainAndRegister } from "./model-home.js";
import { shortDigest } from "../../src/core/hash.js";

let ty: Trainyard;

beforeAll(async () => {
  ty = await openModelHome();
  await trainAndRegister(ty, "lin", 2);
  await trainAndRegister(ty, "lin", 3, [
    { gate: "rmse <= 1", status: "pass", message: "0.1 <= 1" },
    { gate: "latency_p99 <= 5ms", status: "fail", message: "p99 7.2 ms > 5 ms" },
  ]);
  await trainAndRegister(ty, "lin", 4);
  await ty.close();
});

afterAll(async () => {
  await ty?.close();
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/trainyard.js", ...args, "--home", ty.home],
      { env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("trainyard models", () => {
  it("lists models", async () => {
    const r = await cli("models", "list");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lin\s+3\s+3/);
    const json = JSON.parse((await cli("models", "list", "--json")).stdout);
    expect(json[0]).toMatchObject({ name: "lin", latestVersion: 3, versionCount: 3 });
  });

  it("shows a model's versions with metrics and gate verdicts, and one version in detail", async () => {
    const all = await cli("models", "show", "lin");
    expect(all.code).toBe(0);
    expect(all.stdout).toContain("rmse=0.1000");
    expect(all.stdout).toContain("✘ latency_p99 <= 5ms");
    const two = await cli("models", "show", "lin@2");
    expect(two.stdout).toContain("✘ FAIL latency_p99 <= 5ms: p99 7.2 ms > 5 ms");
    expect(two.stdout).toMatch(/run\s+\d{8}-\d{6}-[0-9a-f]{6} \(.*:train\)/);
  });

  it("names what does not exist", async () => {
    const ghost = await cli("models", "show", "ghost");
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('no model "ghost"');
    expect(ghost.stderr).toContain("trainyard models list");
    const noVersion = await cli("models", "show", "lin@9");
    expect(noVersion.stderr).toContain('model "lin" has no version 9 (latest is 3)');
    const noAlias = await cli("models", "show", "lin@production");
    expect(noAlias.stderr).toContain('model "lin" has no alias "production"');
    expect(noAlias.stderr).toContain("hint: promote a version first");
    expect((await cli("models", "promote", "lin@9", "--alias", "production")).stderr).toContain("no version 9");
    expect((await cli("models", "bogus")).code).toBe(2);
    expect((await cli("models", "promote", "lin", "--alias", "production")).code).toBe(2);
  });

  it("promotes, refuses a failed gate unless forced with a reason, and rolls back", async () => {
    expect((await cli("models", "promote", "lin@1", "--alias", "production")).stdout).toContain(
      "lin@production: ∅ → 1",
    );
    const refused = await cli("models", "promote", "lin@2", "--alias", "production");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("error[GATE_FAILED]");
    expect(refused.stderr).toContain("latency_p99 <= 5ms (p99 7.2 ms > 5 ms)");
    expect(refused.stderr).toContain("--force");
    expect((await cli("models", "promote", "lin@2", "--alias", "production", "--force")).code).toBe(2);
    const forced = await cli(
      "models",
      "promote",
      "lin@2",
      "--alias",
      "production",
      "--force",
      "--reason",
      "hotfix for outage",
      "--actor",
      "user:ana",
    );
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("1 → 2 (forced past failed gates)");
    expect((await cli("models", "promote", "lin@3", "--alias", "production")).stdout).toContain("2 → 3");
    expect((await cli("models", "promote", "lin@3", "--alias", "production")).stdout).toContain("nothing changed");
    const back = await cli("models", "rollback", "lin", "--alias", "production", "--reason", "errors up");
    expect(back.stdout).toContain("3 → 2");
    expect((await cli("models", "rollback", "lin", "--alias", "production")).stdout).toContain("2 → 1");
    const none = await cli("models", "rollback", "lin", "--alias", "production");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no earlier version");
    expect((await cli("models", "rollback", "lin", "--alias", "staging")).stderr).toContain('no alias "staging"');

    const shown = JSON.parse((await cli("models", "show", "lin", "--json")).stdout);
    expect(shown.aliases).toEqual({ production: 1 });
    expect(
      shown.history.map((e: { action: string; toVersion: number; forced: boolean }) => [
        e.action,
        e.toVersion,
        e.forced,
      ]),
    ).toEqual([
      ["set", 1, false],
      ["set", 2, true],
      ["set", 3, false],
      ["rollback", 2, false],
      ["rollback", 1, false],
    ]);
    expect(shown.history[1]).toMatchObject({ actor: "user:ana", reason: "hotfix for outage" });
    const text = await cli("models", "show", "lin");
    // A forced promotion and the rollbacks pin the alias; the history says so.
    expect(text.stdout).toContain("FORCED pinned: hotfix for outage");
    expect(text.stdout).toMatch(/pins\n\s+production\s+pinned at 1 by cli \(rollback/);
    expect((await cli("models", "show", "lin@production")).stdout).toContain("lin@1 (production)");
  });
});

describe("trainyard lineage <model>@<version>", () => {
  it("walks from a model version back to the raw data", async () => {
    const r = await cli("lineage", "lin@1");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("written by train");
    expect(r.stdout).toContain("written by raw");
    expect(r.stdout).toMatch(/run\s+\d{8}-\d{6}-[0-9a-f]{6} \(demo-train, succeeded\)/);
    const json = JSON.parse((await cli("lineage", "lin@1", "--json")).stdout);
    expect(json.artifact.producedBy.stepId).toBe("train");
    expect(json.sources.length).toBeGreaterThan(0);
    expect(json.params).toEqual({ slope: 2, bias: 1 });
    // Artifact digests still go to the artifact lineage command.
    const byDigest = await cli("lineage", shortDigest(json.artifact.digest));
    expect(byDigest.code).toBe(0);
    expect(byDigest.stdout).toContain("written by train");
    expect((await cli("lineage", "lin@7")).stderr).toContain("no version 7");
  });
});
