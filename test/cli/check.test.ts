/** `trainyard check`, and the type check `run` and `plan` do first (cached by content). */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useHomes } from "../engine/support.js";
import { CLI_FIXTURE, startCli } from "./support.js";

const homes = useHomes();
/** A first check parses Trainyard's own sources: seconds of CPU, many more on a loaded machine. */
const COLD_CHECKS = { timeout: 240_000 };

/** A module outside the repository, as a user's project would hold it. */
function writeModule(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** "line:column" of the first occurrence of `needle`, 1-based as compilers count. */
function where(text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle)).split("\n");
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

const GOOD_STEPS = `import { pipeline } from "trainyard";
import { features, train } from "trainyard/models";
const p = pipeline("typed");
const data = p.step("data", { run: (ctx) => ctx.dataset("d.parquet") });
const model = p.step("model", { run: (ctx) => ctx.model("m") });
const fitted = features(p, "features", { train: data, spec: { transforms: [{ kind: "passthrough", column: "x" }] } });
`;

function setup() {
  const dir = homes.tempDir("ty-check-");
  const env = { TRAINYARD_CACHE_DIR: join(dir, "cache") };
  const run = (args: string[]) => startCli(args, join(dir, "home"), { cwd: dir, env }).done;
  return { dir, run };
}

describe("trainyard check", () => {
  it(
    "catches a model wired as a dataset, a string for a number option and a wrong annotation",
    COLD_CHECKS,
    async () => {
      const { dir, run } = setup();
      const text = `${GOOD_STEPS}train(p, "train", {
  train: model,
  features: fitted,
  label: "y",
  algorithm: { kind: "gbdt", numRounds: 50 },
});
train(p, "train2", {
  train: data,
  features: fitted,
  label: "y",
  algorithm: { kind: "gbdt", numRounds: "50" },
});
const n: number = "x";
export default p;
`;
      const module = writeModule(dir, "pipeline.ts", text);
      const r = await run(["check", module]);
      expect(r.code).toBe(1);
      const wiring = "error TS2322: a model is wired where a dataset is expected (at `train`)";
      expect(r.stdout).toContain(`pipeline.ts:${where(text, "train: model")} ${wiring}`);
      expect(r.stdout).toContain("Type 'ModelArtifact' is not assignable to type 'Dataset'.");
      const rounds = "error TS2322: `numRounds` should be a number, but is given a string";
      expect(r.stdout).toContain(`pipeline.ts:${where(text, 'numRounds: "50"')} ${rounds}`);
      const annotation = "error TS2322: `n` should be a number, but is given a string";
      expect(r.stdout).toContain(`pipeline.ts:${where(text, "n: number")} ${annotation}`);
      expect(r.stderr).toContain("error[TYPE_CHECK_FAILED]: 3 type errors");
      const json = JSON.parse((await run(["check", module, "--json"])).stdout) as {
        ok: boolean;
        diagnostics: Array<{ line: number }>;
      };
      expect(json.ok).toBe(false);
      const lines = ["train: model", 'numRounds: "50"', "n: number"].map((needle) => where(text, needle).split(":")[0]);
      expect(json.diagnostics.map((d) => `${d.line}`)).toEqual(lines);
    },
  );

  it("passes a correct module, then answers from the cache until a local import changes", COLD_CHECKS, async () => {
    const { dir, run } = setup();
    const helper = writeModule(dir, "rounds.ts", "export const rounds: number = 50;\n");
    const module = writeModule(
      dir,
      "pipeline.ts",
      `${GOOD_STEPS}import { rounds } from "./rounds";
train(p, "train", { train: data, features: fitted, label: "y", algorithm: { kind: "gbdt", numRounds: rounds } });
export default p;
`,
    );
    const first = await run(["check", module]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain("no type errors (2 files)");
    const second = await run(["check", module]);
    expect(second.stdout).toContain("no type errors (2 files, unchanged since the last check)");
    writeFileSync(helper, 'export const rounds: number = "50";\n');
    const changed = await run(["check", module]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain("rounds.ts:1:14 error TS2322: `rounds` should be a number, but is given a string");
  });

  it("passes the repository's own pipelines under their tsconfig", COLD_CHECKS, async () => {
    const { run } = setup();
    const r = await run(["check", CLI_FIXTURE]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe("run and plan type-check first", () => {
  it("stop before running on a type error, and --no-typecheck runs anyway", COLD_CHECKS, async () => {
    const { dir, run } = setup();
    const module = writeModule(
      dir,
      "pipeline.ts",
      `import { pipeline } from "trainyard";
const p = pipeline("annotated");
const n: number = "x";
p.step("count", { run: () => String(n).length });
export default p;
`,
    );
    for (const command of ["run", "plan"]) {
      const r = await run([command, module]);
      expect(r.code, command).toBe(1);
      expect(r.stderr).toContain("pipeline.ts:3:7 error TS2322: `n` should be a number, but is given a string");
      expect(r.stderr).toContain("error[TYPE_CHECK_FAILED]");
      expect(r.stderr).toContain("--no-typecheck");
    }
    // The failed check is a failed run, as a module that does not load is: a daemon sees why.
    const runs = JSON.parse((await run(["runs", "--json"])).stdout) as Array<{
      status: string;
      error: { code: string };
    }>;
    expect(runs.map((r) => [r.status, r.error.code])).toEqual([["failed", "TYPE_CHECK_FAILED"]]);
    const anyway = await run(["run", module, "--no-typecheck", "--json"]);
    expect(anyway.code, anyway.stderr).toBe(0);
    expect(JSON.parse(anyway.stdout).status).toBe("succeeded");
  });
});
