/**
 * `trainyard runs compare` on real runs through the CLI: a Python command step writes its loss
 * per epoch to $TRAINYARD_METRICS, an inline step records an AUC; runs with different params are
 * compared side by side, differences first, in text and JSON.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { REPO, tempDir } from "../engine/support.js";
import { requireTools } from "../support/require-tool.js";
import { cli } from "./support.js";

const python = requireTools("python3");
const FIXTURE = path.join(REPO, "test", "fixtures", "engine", "tracked.ts");

python.describe("trainyard runs compare", () => {
  let home: string;
  const ids: string[] = [];
  beforeAll(async () => {
    home = tempDir("ty-cli-compare-");
    for (const params of [["lr=0.1"], ["lr=0.3"], ["lr=0.3", "seed=2"]]) {
      const r = await cli(["run", FIXTURE, ...params.flatMap((p) => ["--param", p]), "--json"], home);
      expect(r.code, r.stderr).toBe(0);
      ids.push((JSON.parse(r.stdout) as { runId: string }).runId);
    }
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it("prints params and final metrics side by side, the differences first", async () => {
    const r = await cli(["runs", "compare", ids[0], ids[1]], home);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(lines[0]).toContain(ids[0]);
    expect(lines[0]).toContain(ids[1]);
    // lr 0.1 over 5 epochs: loss 0.9^5 = 0.59049; lr 0.3: 0.7^5 = 0.16807 (lower is better), at epoch 4.
    expect(lines[at("param lr")]).toMatch(/param lr\s+0\.1\s+0\.3/);
    expect(lines[at("train.loss best")]).toMatch(/train\.loss best \(lower is better\)\s+0\.59049 @4\s+0\.16807 @4 \*/);
    expect(lines[at("train.loss final")]).toMatch(
      /train\.loss final \(lower is better\)\s+0\.59049 @4\s+0\.16807 @4 \*/,
    );
    expect(lines[at("evaluate.auc best")]).toMatch(/evaluate\.auc best \(higher is better\)\s+0\.7048\s+0\.916 \*/);
    expect(at("differ (5)")).toBeLessThan(at("same in every run"));
    expect(at("param lr")).toBeLessThan(at("same in every run"));
    expect(at("param epochs")).toBeGreaterThan(at("same in every run"));
    expect(lines[at("tag optimizer")]).toMatch(/sgd\s+sgd/);

    const only = await cli(["runs", "compare", ids[0], ids[1], "--differences"], home);
    expect(only.stdout).not.toContain("param epochs");
    expect(only.stdout).toContain("param lr");
  });

  it("--json gives the rows, and a run that reused the Python step shows the metrics it reused", async () => {
    const r = await cli(["runs", "compare", ids[1], ids[2], "--json"], home);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as {
      runs: Array<{ id: string }>;
      rows: Array<{ kind: string; key: string; measure?: string; values: unknown[]; at?: unknown[]; differs: boolean }>;
    };
    expect(c.runs.map((x) => x.id)).toEqual([ids[1], ids[2]]);
    const differing = c.rows.filter((x) => x.differs).map((x) => `${x.kind}:${x.key}`);
    expect(differing).toEqual(["param:seed", "tag:seed"]);
    // The third run reused "train" from the second: same loss, read through the reused step run.
    const loss = c.rows.filter((x) => x.key === "train.loss");
    expect(loss.map((x) => [x.measure, x.values, x.at])).toEqual([
      ["best", [0.16807, 0.16807], [4, 4]],
      ["final", [0.16807, 0.16807], [4, 4]],
    ]);
  });

  it("warns of a malformed $TRAINYARD_METRICS line on the terminal, naming step, file and line", async () => {
    const r = await cli(["run", FIXTURE, "--param", "noise=true"], home);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /! step "train": line 1 of \$TRAINYARD_METRICS \(\/.*metrics\.jsonl\) was left out: it is not JSON/,
    );
    const runId = /run (\S+) of tracked/.exec(r.stderr)?.[1] ?? "";
    const shown = await cli(["runs", "compare", ids[0], runId, "--json"], home);
    const c = JSON.parse(shown.stdout) as { rows: Array<{ key: string; measure?: string; values: unknown[] }> };
    // The lines after the malformed one were kept.
    expect(c.rows.find((x) => x.key === "train.loss" && x.measure === "final")?.values).toEqual([0.59049, 0.59049]);
  });

  it("needs two runs and names an unknown one", async () => {
    const one = await cli(["runs", "compare", ids[0]], home);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain("runs compare needs two runs or more");
    const unknown = await cli(["runs", "compare", ids[0], "no-such-run"], home);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error\[NOT_FOUND\].*no-such-run/);
  });
});
