/**
 * 1,000 shell steps (100 independent chains of 10, each step echoing into a file and depending on
 * the previous one of its chain) run by make, snakemake and trainyard, two jobs at a time.
 * Wall clock per run, process start included: a cold run (nothing built, fresh Trainyard home)
 * and a no-change re-run. Runs of make and Trainyard alternate so machine noise hits both.
 *
 * Every cold run builds into directories no earlier run used, and nothing is deleted until all
 * runs are done. Deleting thousands of files just before a run made every file that run created
 * cost several times more here: ext4 (this disk has no journal) passes over inodes freed in the
 * last minute, one by one, on each allocation. That charged whichever tool ran right after a
 * cleanup, most of all the one that had deleted the most. For the same reason a run of this
 * benchmark that starts within a minute of the last one's cleanup first waits out the rest of
 * that minute.
 *
 * Snakemake deletes about 3,000 files per run (a marker file per job, made and removed), so its
 * runs come first, on their own, and make and Trainyard, alternating, only after that minute.
 *
 * Each cold run also starts after a sync(1), untimed: Trainyard makes its artifacts durable with
 * syncfs(2), which writes back everything dirty on the file system, so without it Trainyard paid
 * for writing out the thousand files the tool before it had just made.
 *
 * Node start is measured without NODE_EXTRA_CA_CERTS, which this sandbox sets: with it Node
 * parses a whole CA bundle before running any code (tens of milliseconds), and nothing here uses
 * TLS. The benchmark prints what that costs on this machine.
 *
 *   npx tsx bench/engine-dag.ts [--reps 7] [--snakemake-reps 3] [--skip-snakemake]
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { flag, formatTable, median, runTimed } from "./support/timing.js";

const CHAINS = 100;
const LENGTH = 10;
/** Runs of make and Trainyard (a fraction of a second each), and of Snakemake (about 20 s each). */
const REPS = Number(flag("reps", "7"));
const SNAKE_REPS = Number(flag("snakemake-reps", "3"));
const SKIP_SNAKE = process.argv.includes("--skip-snakemake") || !existsSync("/usr/bin/snakemake");
const ROOT = resolve("bench/.work/dag");
/** Fresh directories for each cold run (see above), removed once every run is done. */
const RUNS = join(ROOT, "runs");
const dirs: Record<Tool, string> = { make: "", snakemake: "", trainyard: "" };
let fresh = 0;
const id = (c: number, s: number) => `c${c}_s${s}`;

function generate(): void {
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(RUNS, { recursive: true });

  const finals = Array.from({ length: CHAINS }, (_, c) => `out/${id(c, LENGTH - 1)}`);
  const rules: string[] = [`all: ${finals.join(" ")}`, ""];
  for (let c = 0; c < CHAINS; c++) {
    for (let s = 0; s < LENGTH; s++) {
      rules.push(`out/${id(c, s)}:${s ? ` out/${id(c, s - 1)}` : ""}`, `\t@echo c${c} s${s} > $@`);
    }
  }
  writeFileSync(join(ROOT, "Makefile"), `${rules.join("\n")}\n`);

  writeFileSync(
    join(ROOT, "Snakefile"),
    `CHAINS = range(${CHAINS})

rule all:
    input: expand("out/c{c}_s${LENGTH - 1}", c=CHAINS)

rule first:
    output: "out/c{c}_s0"
    wildcard_constraints: c="\\\\d+"
    shell: "echo c{wildcards.c} s0 > {output}"

rule step:
    input: lambda w: f"out/c{w.c}_s{int(w.s) - 1}"
    output: "out/c{c}_s{s}"
    wildcard_constraints: c="\\\\d+", s="[1-9]"
    shell: "echo c{wildcards.c} s{wildcards.s} > {output}"
`,
  );

  writeFileSync(
    join(ROOT, "pipeline.ts"),
    `import { pipeline } from "trainyard";

const p = pipeline("dag");
for (let c = 0; c < ${CHAINS}; c++) {
  let prev: ReturnType<typeof p.command<{ out: "file" }>> | undefined;
  for (let s = 0; s < ${LENGTH}; s++) {
    prev = p.command(\`c\${c}_s\${s}\`, {
      inputs: prev ? { prev: prev.pick("out") } : {},
      run: \`echo c\${c} s\${s} > $TRAINYARD_OUT/out\`,
      outputs: { out: "file" },
    });
  }
}
export default p;
`,
  );
}

type Tool = "make" | "snakemake" | "trainyard";

function cold(tool: Tool): number {
  const dir = (dirs[tool] = join(RUNS, `${tool}-${++fresh}`));
  mkdirSync(dir);
  // Nothing left dirty by the previous run (see the header).
  runTimed("sync", []);
  if (tool === "make") {
    copyFileSync(join(ROOT, "Makefile"), join(dir, "Makefile"));
    mkdirSync(join(dir, "out"));
    return runTimed("make", ["-j2", "-s"], { cwd: dir }).secs;
  }
  if (tool === "snakemake") {
    copyFileSync(join(ROOT, "Snakefile"), join(dir, "Snakefile"));
    return runTimed("snakemake", ["-j2", "--quiet"], { cwd: dir }).secs;
  }
  return trainyard(`${CHAINS * LENGTH} ran, 0 reused`);
}

function rerun(tool: Tool): number {
  if (tool === "make") {
    const r = runTimed("make", ["-j2"], { cwd: dirs.make });
    if (!/Nothing to be done|is up to date/.test(r.stdout))
      throw new Error(`make re-ran something:\n${r.stdout.slice(0, 500)}`);
    return r.secs;
  }
  if (tool === "snakemake") return runTimed("snakemake", ["-j2", "--quiet"], { cwd: dirs.snakemake }).secs;
  return trainyard(`0 ran, ${CHAINS * LENGTH} reused`);
}

/** The environment Trainyard runs with: this one, without the CA bundle Node would parse at start. */
const nodeEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
};

function trainyard(expect: string): number {
  const r = runTimed(
    "node",
    ["bin/trainyard.js", "run", "bench/.work/dag/pipeline.ts", "--concurrency", "2", "--quiet"],
    {
      env: { ...nodeEnv(), TRAINYARD_HOME: join(dirs.trainyard, "home") },
    },
  );
  if (!r.stdout.includes(expect)) throw new Error(`trainyard did not report "${expect}":\n${r.stdout.slice(0, 500)}`);
  return r.secs;
}

// The last run's cleanup (see the header): inodes it freed are passed over for a minute.
const CLEANED = resolve("bench/.work/dag-cleaned-at");
const sinceCleanup = existsSync(CLEANED) ? Date.now() - Number(readFileSync(CLEANED, "utf8")) : Infinity;
if (sinceCleanup < 65_000) {
  const wait = 65_000 - sinceCleanup;
  console.log(
    `waiting ${(wait / 1000).toFixed(0)} s: the last run of this ` +
      `benchmark removed its files ${(sinceCleanup / 1000).toFixed(0)} s ago`,
  );
  await new Promise((r) => setTimeout(r, wait));
}
generate();
const tools: Tool[] = SKIP_SNAKE ? ["make", "trainyard"] : ["make", "snakemake", "trainyard"];
const times = new Map(tools.map((t) => [t, { cold: [] as number[], rerun: [] as number[] }]));
// Snakemake first, on its own (see the header): each run of it deletes thousands of files.
if (!SKIP_SNAKE) {
  for (let rep = 0; rep < SNAKE_REPS; rep++) {
    times.get("snakemake")!.cold.push(cold("snakemake"));
    times.get("snakemake")!.rerun.push(rerun("snakemake"));
  }
  console.log("waiting 65 s: Snakemake deleted its marker files, whose inodes would slow the next tool");
  await new Promise((r) => setTimeout(r, 65_000));
}
const paced = tools.filter((t) => t !== "snakemake");
for (let rep = 0; rep < REPS; rep++) {
  for (const t of paced) times.get(t)!.cold.push(cold(t));
  for (const t of paced) times.get(t)!.rerun.push(rerun(t));
}

rmSync(RUNS, { recursive: true, force: true });
writeFileSync(CLEANED, String(Date.now()));

// What NODE_EXTRA_CA_CERTS, when set, adds to every Node start here.
const caBundle = process.env.NODE_EXTRA_CA_CERTS;
if (caBundle) {
  const bare = median([0, 1, 2, 3, 4].map(() => runTimed("node", ["-e", "0"], { env: nodeEnv() }).secs));
  const withCa = median([0, 1, 2, 3, 4].map(() => runTimed("node", ["-e", "0"]).secs));
  console.log(
    `node start: ${(bare * 1000).toFixed(0)} ms; with this sandbox's ` +
      `NODE_EXTRA_CA_CERTS=${caBundle}: ${(withCa * 1000).toFixed(0)} ms (unset for the runs below)`,
  );
}

const fmt = (s: number) => `${s.toFixed(3)} s`;
const med = (t: Tool, k: "cold" | "rerun") => median(times.get(t)![k]);
console.log(
  `engine-dag: ${CHAINS} chains x ${LENGTH} shell steps, ` +
    `-j2, median of ${REPS} (Snakemake: ${SNAKE_REPS}) (runs: ${tools
      .map(
        (t) =>
          `${t} ${times
            .get(t)!
            .cold.map((s) => s.toFixed(2))
            .join("/")}`,
      )
      .join("; ")})`,
);
console.log(
  formatTable([
    ["tool", "cold", "no-change re-run"],
    ...tools.map((t) => [t, fmt(med(t, "cold")), fmt(med(t, "rerun"))]),
    [
      "trainyard / make",
      `${(med("trainyard", "cold") / med("make", "cold")).toFixed(2)}x`,
      `${(med("trainyard", "rerun") / med("make", "rerun")).toFixed(2)}x`,
    ],
  ]),
);
console.log(
  `targets: ` +
    `cold <= 1.3x make (${med("trainyard", "cold") <= 1.3 * med("make", "cold") ? "met" : "NOT met"}), ` +
    `re-run < 0.4 s (${med("trainyard", "rerun") < 0.4 ? "met" : "NOT met"})`,
);
