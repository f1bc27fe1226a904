/**
 * `trainyard runs compare` shows each metric's best value (by its goal) and its final value as two
 * labelled rows, from the same engine function the web UI's compare view reads. The fixture's
 * validation loss falls and then rises, so a run's best is not its last; the expected values are
 * computed here from the fixture's definition.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { REPO, tempDir } from "../engine/support.js";
import { cli } from "./support.js";

const EXPERIMENTS = path.join(REPO, "test", "fixtures", "experiments", "experiment-pipeline.ts");
const valLoss = (lr: number, epochs: number) =>
  Array.from({ length: epochs }, (_, e) => Number(((1 - lr) ** (e + 1) + 0.02 * e * e).toFixed(6)));

describe("trainyard runs compare: best and final values", () => {
  let home: string;
  const picked = [
    { lr: 0.5, epochs: 6 },
    { lr: 0.3, epochs: 3 },
  ];
  const ids: string[] = [];
  beforeAll(async () => {
    home = tempDir("ty-cli-best-final-");
    const ty = await Trainyard.open({ home });
    try {
      for (const params of picked) {
        const r = await ty.run(EXPERIMENTS, { params });
        expect(r.status).toBe("succeeded");
        ids.push(r.runId);
      }
    } finally {
      await ty.close();
    }
  }, 60_000);
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  const curves = picked.map((p) => valLoss(p.lr, p.epochs));
  const bests = curves.map((c) => Math.min(...c));
  const finals = curves.map((c) => c[c.length - 1]);

  it("--json: a best row and a final row per metric, each value with its epoch", async () => {
    // The fixture is only useful if the two measures name different winners.
    expect(bests.indexOf(Math.min(...bests))).not.toBe(finals.indexOf(Math.min(...finals)));
    const r = await cli(["runs", "compare", ...ids, "--json"], home);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as {
      rows: Array<{ key: string; measure?: string; values: number[]; at: number[]; best?: number }>;
    };
    const best = c.rows.find((x) => x.key === "train.val_loss" && x.measure === "best")!;
    const final = c.rows.find((x) => x.key === "train.val_loss" && x.measure === "final")!;
    expect(best.values).toEqual(bests);
    expect(best.at).toEqual(curves.map((curve, i) => curve.indexOf(bests[i])));
    expect(best.best).toBe(bests.indexOf(Math.min(...bests)));
    expect(final.values).toEqual(finals);
    expect(final.at).toEqual(picked.map((p) => p.epochs - 1));
    expect(final.best).toBe(finals.indexOf(Math.min(...finals)));
  });

  it("prints both rows labelled, the best run of each starred", async () => {
    const r = await cli(["runs", "compare", ...ids], home);
    expect(r.code, r.stderr).toBe(0);
    const line = (label: string) => r.stdout.split("\n").find((l) => l.includes(label)) ?? "";
    const cell = (v: number, at: number, star: boolean) => `${v} @${at}${star ? " \\*" : ""}`;
    const byBest = bests.indexOf(Math.min(...bests));
    const byFinal = finals.indexOf(Math.min(...finals));
    const bestCells = bests.map((v, i) => cell(v, curves[i].indexOf(v), i === byBest));
    const finalCells = finals.map((v, i) => cell(v, picked[i].epochs - 1, i === byFinal));
    expect(line("train.val_loss best")).toMatch(
      new RegExp(`train\\.val_loss best \\(lower is better\\)\\s+${bestCells.join("\\s+")}`),
    );
    expect(line("train.val_loss final")).toMatch(
      new RegExp(`train\\.val_loss final \\(lower is better\\)\\s+${finalCells.join("\\s+")}`),
    );
  });
});
