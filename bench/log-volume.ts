/**
 * Log volume: a command step writes 200 MB of output, once as one line without a newline and
 * once as 22 million short lines (`seq`), through `trainyard run` (a real CLI process). Prints
 * the run's wall time and the orchestrator's peak RSS (targets: < 5 s, < 200 MB), the size of
 * the step's log file and of the metadata database, and how long `trainyard logs` takes to
 * print the kept log.
 *
 *   npx tsx bench/log-volume.ts [--mb 200] [--reps 1]
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { flag, formatTable, median } from "./support/timing.js";

const MB = Number(flag("mb", "200"));
const REPS = Number(flag("reps", "1"));
const WORK = resolve("bench/.work/log-volume");
const BIN = resolve("bin/trainyard.js");
const BYTES = MB * 1_000_000;

const CASES = {
  "no newline": `head -c ${BYTES} /dev/zero | tr '\\0' x`,
  "with newlines (seq)": `seq 1 100000000 | head -c ${BYTES}`,
};

interface Measured {
  secs: number;
  peakRssMb: number;
  stdout: string;
}

/** Runs the CLI, polling its peak RSS (VmHWM) until it exits. */
function runCli(args: string[], home: string): Promise<Measured> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let peakKb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      /* exited */
    }
  }, 10);
  let stdout = "";
  let stderr = "";
  let outBytes = 0;
  child.stdout.on("data", (d: Buffer) => {
    outBytes += d.length;
    if (stdout.length < 4096) stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  return new Promise((done, fail) =>
    child.on("close", (code) => {
      clearInterval(poll);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0)
        return fail(
          new Error(`trainyard ${args.join(" ")} exited with ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`),
        );
      done({ secs, peakRssMb: peakKb / 1024, stdout: args[0] === "logs" ? `${outBytes}` : stdout });
    }),
  );
}

function sizeOf(dir: string, match: (name: string) => boolean): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && match(entry.name)) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const rows: string[][] = [["output", "run", "peak RSS", "log file", "metadata db", "`logs`", "printed"]];
mkdirSync(WORK, { recursive: true });
for (const [name, command] of Object.entries(CASES)) {
  const module = join(WORK, "pipeline.ts");
  writeFileSync(
    module,
    `import { pipeline } from "trainyard";\nconst p = ` +
      `pipeline("log-volume");\np.command("loud", { run: ${JSON.stringify(command)} });\nexport default p;\n`,
  );
  const runs: Measured[] = [];
  const reads: Measured[] = [];
  let files = 0;
  let db = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const home = join(WORK, "home");
    rmSync(home, { recursive: true, force: true });
    const run = await runCli(["run", module, "--json"], home);
    const { runId, status } = JSON.parse(run.stdout) as { runId: string; status: string };
    if (status !== "succeeded") throw new Error(`run ${runId}: ${status}`);
    runs.push(run);
    reads.push(await runCli(["logs", runId, "loud"], home));
    files = sizeOf(join(home, "logs"), (n) => n.endsWith(".log.gz"));
    db = sizeOf(home, (n) => n.startsWith("metadata.db"));
  }
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  rows.push([
    name,
    `${median(runs.map((r) => r.secs)).toFixed(2)} s`,
    `${median(runs.map((r) => r.peakRssMb)).toFixed(0)} MB`,
    mib(files),
    mib(db),
    `${median(reads.map((r) => r.secs)).toFixed(2)} s`,
    mib(Number(reads[0].stdout)),
  ]);
}
rmSync(WORK, { recursive: true, force: true });

console.log(`log-volume: ${MB} MB of command output through \`trainyard run\` (default log caps), median of ${REPS}`);
console.log(formatTable(rows));
