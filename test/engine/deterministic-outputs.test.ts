/**
 * A step's output must not depend on whether its upstream ran or was reused: the value handed
 * downstream has one canonical shape (sorted keys) either way, so equal cache keys give equal
 * output digests.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { pipeline } from "../../src/index.js";
import type { FileArtifact } from "../../src/index.js";
import { useHomes } from "./support.js";

const homes = useHomes();

function build() {
  const p = pipeline("canonical");
  const produce = p.step("produce", {
    run: (ctx) => {
      fs.writeFileSync(path.join(ctx.workdir, "rows.csv"), "x\n1\n");
      // Keys deliberately out of order, in the value and in the handle's meta.
      return { zeta: 1, data: ctx.dataset("rows.csv", { rows: 1, format: "csv" }), alpha: { b: 2, a: 1 } };
    },
  });
  p.step("serialize", {
    inputs: { up: produce },
    run: (ctx, { up }) => {
      const { path: _path, ...handle } = up.data;
      fs.writeFileSync(path.join(ctx.workdir, "echo.json"), JSON.stringify({ ...up, data: handle }));
      return ctx.file("echo.json");
    },
  });
  return p;
}

describe("deterministic outputs", () => {
  it("gives a step the same output digest whether its upstream ran or was reused", async () => {
    const { ty: firstTy, home } = await homes.open();
    const first = await firstTy.run(build(), { concurrency: 1 });
    expect(first.status).toBe("succeeded");
    const ran = (await firstTy.output(first.runId, "serialize")) as FileArtifact;
    await firstTy.close();

    // Another process's view: nothing memoized, the upstream output is read back from the store.
    const ty = await Trainyard.open({ home });
    const second = await ty.run(build(), { concurrency: 1, force: ["serialize"] });
    expect(second.status).toBe("succeeded");
    expect(second.steps.find((s) => s.step === "produce")!.cached).toBe(true);
    expect(second.steps.find((s) => s.step === "serialize")!.cached).toBe(false);
    const reused = (await ty.output(second.runId, "serialize")) as FileArtifact;

    expect(fs.readFileSync(reused.path, "utf8")).toBe(fs.readFileSync(ran.path, "utf8"));
    expect(reused.digest).toBe(ran.digest);
    await ty.close();
  });
});
