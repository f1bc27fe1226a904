/**
 * Pins: a manual rollback (or a forced promotion) pins the alias, and automated runs leave a
 * person's decision alone. Real pipeline runs on a real SQLite home, and the CLI as a process.
 */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { ModelArtifact } from "../../src/core/artifacts.js";
import type { Trainyard } from "../../src/engine/trainyard.js";
import type { GatesResult } from "../../src/lib/gates/gates-step.js";
import { openRegistry, promoteAlias, rollbackAlias } from "../../src/lib/registry/index.js";
import { currentModel, deploy, register, type DeployStepOptions } from "../../src/lib/registry/registry-steps.js";
import { stepOf, useHomes } from "../engine/support.js";
import { demoPipeline } from "../registry/model-home.js";

const homes = useHomes();

/** train -> gates -> register -> deploy; the gates beat whatever production was (relative, passing). */
function retrainPipeline(deployOpts: Partial<DeployStepOptions> = {}) {
  const p = demoPipeline();
  const model = p.ref<{ model: ModelArtifact }>("train").pick("model");
  const current = currentModel(p, "current", { name: "flights", alias: "production", candidate: model });
  const gates = p.step("gates", {
    inputs: { model, current },
    run: (_ctx, { current }): GatesResult => ({
      passed: true,
      verdicts: [
        {
          gate: "rmse vs production",
          kind: "relative",
          status: current === null ? "no-baseline" : "pass",
          message: "better",
          evidence: { productionVersion: current?.version },
        },
      ],
    }),
  });
  const registered = register(p, "register", { name: "flights", model, gates });
  deploy(p, "deploy", { registered, alias: "production", ...deployOpts });
  return p;
}

async function production(ty: Trainyard): Promise<number | undefined> {
  return (await openRegistry(ty).getAlias("flights", "production"))?.version;
}

function cli(home: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/trainyard.js", ...args, "--home", home],
      { env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("a rolled-back alias is pinned against automation", () => {
  it("the next unchanged run does not re-point production at the version rolled back", async () => {
    const { ty } = await homes.open();
    const first = await ty.run(retrainPipeline(), { params: { slope: 2 } });
    expect(first.error?.message ?? "").toBe("");
    expect(first.status).toBe("succeeded");
    expect((await ty.run(retrainPipeline(), { params: { slope: 3 } })).status).toBe("succeeded");
    expect(await production(ty)).toBe(2);
    await rollbackAlias(ty, "flights", "production", { actor: "user:ana", reason: "errors up after v2", hooks: [] });
    expect(await production(ty)).toBe(1);

    const again = await ty.run(retrainPipeline(), { params: { slope: 3 } });
    expect(await production(ty)).toBe(1);
    expect(again.status).toBe("rejected");
    expect(stepOf(again, "deploy").error?.message).toContain("pinned");
    expect(stepOf(again, "deploy").error?.message).toContain("rolled back");
  });

  it("with replace-if-better, a different candidate that beat the pinned version moves the alias", async () => {
    const { ty } = await homes.open();
    const policy = { pinPolicy: "replace-if-better" as const };
    for (const slope of [2, 3]) {
      const r = await ty.run(retrainPipeline(policy), { params: { slope } });
      expect(r.error?.message ?? "").toBe("");
    }
    await rollbackAlias(ty, "flights", "production", { actor: "user:ana", reason: "errors up", hooks: [] });
    // The artifact rolled back is refused even under this policy.
    expect((await ty.run(retrainPipeline(policy), { params: { slope: 3 } })).status).toBe("rejected");
    expect(await production(ty)).toBe(1);
    const better = await ty.run(retrainPipeline(policy), { params: { slope: 4 } });
    expect(better.status).toBe("succeeded");
    expect(await production(ty)).toBe(3);
    const last = (await openRegistry(ty).aliasHistory("flights", "production")).at(-1)!;
    expect(last).toMatchObject({
      action: "set",
      fromVersion: 1,
      toVersion: 3,
      actor: `run:${better.runId}`,
      runId: better.runId,
      trigger: "manual",
    });
    expect(last.reason).toContain("replaced the pin");
    // The pin is released by that move: the person's rollback has been superseded on purpose.
    expect((await openRegistry(ty).getAlias("flights", "production"))?.pin).toBeUndefined();
  });

  it("a released pin lets the next run move the alias; promote --force pins it again", async () => {
    const { ty, home } = await homes.open();
    await ty.run(retrainPipeline(), { params: { slope: 2 } });
    await ty.run(retrainPipeline(), { params: { slope: 3 } });
    const rolled = await cli(
      home,
      "models",
      "rollback",
      "flights",
      "--alias",
      "production",
      "--reason",
      "errors up",
      "--actor",
      "user:ana",
    );
    expect(rolled.code).toBe(0);
    const shown = await cli(home, "models", "show", "flights");
    expect(shown.stdout).toMatch(/production\s+pinned at 1 by user:ana.*errors up.*version 2 is kept out/);
    expect(shown.stdout).toMatch(/production rollback 2 → 1 by user:ana .*pinned.*: errors up/);

    const refused = await cli(home, "models", "unpin", "flights", "--alias", "production");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--reason");
    const unpinned = await cli(
      home,
      "models",
      "unpin",
      "flights",
      "--alias",
      "production",
      "--reason",
      "v2 fixed upstream",
      "--actor",
      "user:bo",
    );
    expect(unpinned.code).toBe(0);
    expect(unpinned.stdout).toContain("flights@production is no longer pinned");

    const next = await ty.run(retrainPipeline(), { params: { slope: 3 } });
    expect(next.status).toBe("succeeded");
    expect(await production(ty)).toBe(2);

    await promoteAlias(ty, "flights", "production", 1, {
      actor: "user:ana",
      reason: "hold v1 for the audit",
      force: true,
      hooks: [],
    });
    expect((await openRegistry(ty).getAlias("flights", "production"))?.pin).toMatchObject({
      by: "user:ana",
      reason: "hold v1 for the audit",
      replacedVersion: 2,
    });
    expect((await ty.run(retrainPipeline(), { params: { slope: 5 } })).status).toBe("rejected");
    expect(await production(ty)).toBe(1);

    const json = JSON.parse((await cli(home, "models", "show", "flights", "--json")).stdout);
    const actions = json.history.map((e: { action: string; actor: string; forced: boolean; pinned: boolean }) => [
      e.action,
      e.actor,
      e.pinned,
    ]);
    expect(actions).toEqual([
      ["set", expect.stringMatching(/^run:/), false],
      ["set", expect.stringMatching(/^run:/), false],
      ["rollback", "user:ana", true],
      ["unpin", "user:bo", false],
      ["set", expect.stringMatching(/^run:/), false],
      ["set", "user:ana", true],
    ]);
    expect(json.history.every((e: { user?: string }) => typeof e.user === "string" && e.user.length > 0)).toBe(true);
  });
});
