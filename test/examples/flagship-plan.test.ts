/**
 * Plan agrees with run on the flagship (dev profile, on a small sample of the flights data):
 * a first run, then a month lands, then a param changes; each time every decision `plan` made
 * is the one the run then made (see test/engine/plan-agreement.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { planThenRun } from "../engine/plan-agreement.js";

const root = process.cwd();
const dir = mkdtempSync(join(tmpdir(), "ty-flagship-plan-"));
const landing = join(dir, "landing");
const MODULE = join(root, "examples/flight-delays/pipeline.ts");
const small = {
  landing,
  trainSample: 0.03,
  evalSample: 0.05,
  searchRows: 10_000,
  rounds: 10,
  aucFloor: 0.5,
  maxTprGap: 0.9,
  maxP99Ms: 200,
};

function land(through: number) {
  const r = spawnSync(
    process.execPath,
    ["examples/flight-delays/land-data.mjs", "--through", String(through), "--landing", landing],
    { cwd: root, encoding: "utf8" },
  );
  expect(r.status, r.stderr).toBe(0);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("flagship: plan agrees with run", () => {
  it("on a first run, after a month lands and after a param change (dev profile)", async () => {
    const ty = await Trainyard.open({ home: join(dir, "home") });
    try {
      land(2);
      const first = await planThenRun(ty, MODULE, { profile: "dev", params: small });
      expect(first.run.status, JSON.stringify(first.run.error)).toBe("succeeded");
      land(3);
      const landed = await planThenRun(ty, MODULE, { profile: "dev", params: small });
      expect(landed.run.status, JSON.stringify(landed.run.error)).toBe("succeeded");
      expect(landed.planned.partitions).toBe("run");
      // The months landed before are reused by the run, although the plan could not know them.
      expect(landed.did["ingest-month"]).toBe("run 2/3");
      const changed = await planThenRun(ty, MODULE, { profile: "dev", params: { ...small, rounds: 12 } });
      expect(changed.planned).toMatchObject({ partitions: "reuse", "ingest-month": "reuse 3/3" });
      expect(Object.values(changed.planned)).toContain("run");
    } finally {
      await ty.close();
    }
  });
});
