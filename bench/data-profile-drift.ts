/**
 * Trainyard's data statistics vs DuckDB SUMMARIZE vs pandas + SciPy on flights-3m.parquet.
 *
 *   npx tsx bench/data-profile-drift.ts            # timings (median of 3)
 *   npx tsx bench/data-profile-drift.ts --scale 10 # memory: profile 30M rows, print peak RSS
 *
 * Trainyard = profileDataset(whole file) + detectDrift(June vs January–May, every statistic).
 * pandas reads the same rows from a CSV DuckDB exports once into bench/.work/ (read time is
 * printed separately), then describe/isna/nunique/quantiles/histograms/value_counts and SciPy
 * ks_2samp/wasserstein_distance/jensenshannon/chisquare.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { detectDrift } from "../src/lib/data/drift.js";
import { withConnection } from "../src/lib/data/duck.js";
import { profileDataset } from "../src/lib/data/profile.js";
import { sqlString } from "../src/lib/data/sql-text.js";

const FILE = "node_modules/vega-datasets/data/flights-3m.parquet";
const WORK = fileURLToPath(new URL("./.work/", import.meta.url));
const PEER = fileURLToPath(new URL("./peers/pandas_profile_drift.py", import.meta.url));
const RUNS = 3;

const args = process.argv.slice(2);
const scaleAt = args.indexOf("--scale");
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1] ?? "10") : 1;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(fn: () => Promise<unknown>, runs = RUNS): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;

async function summarize(source: string): Promise<void> {
  await withConnection(async (con) => {
    await con.runAndReadAll(`SUMMARIZE SELECT * FROM ${source}`);
  });
}

async function trainyard(): Promise<void> {
  await profileDataset(FILE);
  await detectDrift(
    { path: FILE, where: "date < TIMESTAMP '2001-06-01'" },
    { path: FILE, where: "date >= TIMESTAMP '2001-06-01'" },
  );
}

async function speed(): Promise<void> {
  console.log(`flights-3m.parquet, DuckDB threads=2, median of ${RUNS}`);
  await trainyard(); // warm-up: instance start, file cache
  const summarizeMs = await timeIt(() => summarize(`read_parquet(${sqlString(FILE)})`));
  const profileMs = await timeIt(() => profileDataset(FILE));
  const driftMs = await timeIt(() =>
    detectDrift(
      { path: FILE, where: "date < TIMESTAMP '2001-06-01'" },
      { path: FILE, where: "date >= TIMESTAMP '2001-06-01'" },
    ),
  );
  const trainyardMs = await timeIt(trainyard);
  console.log(`DuckDB SUMMARIZE                      ${ms(summarizeMs)}`);
  console.log(`Trainyard profile (whole file)        ${ms(profileMs)}`);
  console.log(`Trainyard drift (June vs Jan-May)     ${ms(driftMs)}`);
  console.log(`Trainyard profile + drift             ${ms(trainyardMs)}`);
  console.log(`ratio Trainyard / SUMMARIZE           ${(trainyardMs / summarizeMs).toFixed(2)}x`);

  mkdirSync(WORK, { recursive: true });
  const csv = `${WORK}flights-3m.csv`;
  if (!existsSync(csv)) {
    await withConnection(async (con) => {
      await con.run(
        `COPY (SELECT * FROM read_parquet(${sqlString(FILE)})) TO ${sqlString(csv)} (HEADER, DELIMITER ',')`,
      );
    });
  }
  const py = spawnSync("/usr/bin/python3", [PEER, csv, String(RUNS)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (py.status !== 0) {
    console.log(`pandas + SciPy: skipped (${(py.stderr || "python3 failed").trim().split("\n").pop()})`);
    return;
  }
  const peer = JSON.parse(py.stdout.trim().split("\n").pop() ?? "{}") as {
    rows: number;
    read_s: number;
    profile_s: number;
    drift_s: number;
  };
  const pandasMs = (peer.profile_s + peer.drift_s) * 1000;
  console.log(`pandas read_csv (${peer.rows} rows)         ${ms(peer.read_s * 1000)}`);
  console.log(`pandas profile                        ${ms(peer.profile_s * 1000)}`);
  console.log(`pandas + SciPy drift                  ${ms(peer.drift_s * 1000)}`);
  console.log(`pandas + SciPy profile + drift        ${ms(pandasMs)}`);
  console.log(`ratio pandas / Trainyard              ${(pandasMs / trainyardMs).toFixed(2)}x (excluding pandas' read)`);
  console.log(`ratio pandas incl. read / Trainyard   ${((pandasMs + peer.read_s * 1000) / trainyardMs).toFixed(2)}x`);
}

async function memory(): Promise<void> {
  const files = Array.from({ length: scale }, () => sqlString(FILE)).join(", ");
  const sql = `SELECT * FROM read_parquet([${files}])`;
  const before = process.resourceUsage().maxRSS;
  const t = performance.now();
  const profile = await profileDataset({ sql, label: `flights-3m x${scale}` });
  const took = performance.now() - t;
  const mem = process.memoryUsage();
  console.log(
    `profile of ${profile.rowCount.toLocaleString("en-US")} rows (flights-3m.parquet x${scale}, a DuckDB view)`,
  );
  console.log(`time                    ${ms(took)}`);
  console.log(`peak RSS before         ${(before / 1024).toFixed(0).padStart(6)} MB`);
  console.log(
    `peak RSS (maxRSS)       ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(6)} MB  (includes ` +
      `DuckDB's native buffers)`,
  );
  console.log(`JS heap used            ${(mem.heapUsed / 2 ** 20).toFixed(0).padStart(6)} MB`);
  console.log(
    `table size if in JS     ${((profile.rowCount * 5 * 8) / 2 ** 20).toFixed(0).padStart(6)} MB  (5 columns ` +
      `x 8 bytes, ` +
      `lower bound)`,
  );
}

if (scale > 1) await memory();
else await speed();
