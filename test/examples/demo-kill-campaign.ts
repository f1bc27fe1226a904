/**
 * The kill campaign during the autonomy demo's loop: `trainyard up` on the flagship (its own
 * trainyard.config.ts triggers, the sample profile) while months of flights land at random
 * moments, killed with -9 at random moments and restarted each time. Runs the daemon launched
 * are orphaned by each kill and must be resumed or relaunched by the next daemon. A last daemon
 * runs until every landed month has started its run and every run has ended; then the ledger
 * is checked (tick-history-checker: no tick lost or doubled, each landed file in exactly one
 * tick, each tick with exactly one run) and `trainyard fsck` checks every stored artifact.
 * Used by demo-kill-campaign.test.ts (3 kills) and bench/demo-kill-campaign.ts (50).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cutMonths, monthFile } from "../../examples/flight-delays/autonomy/flight-months.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SqliteTickStore } from "../../src/store/sqlite-tick-store.js";
import { BIN } from "../cli/support.js";
import { waitFor } from "../daemon/support.js";
import { checkDaemonHistory, type DaemonHistory, type HistoryReport } from "../daemon/tick-history-checker.js";
import { REPO } from "../engine/support.js";
import { random } from "../faults/kill-campaign.js";

const PIPELINE = path.join(REPO, "examples", "flight-delays", "pipeline.ts");
const SENSOR = "flight-delays/landed";
const MONITOR = "flight-delays/served-auc";
/** A run may end rejected: a month cut differently may not beat the model in production. */
const ENDINGS = new Set(["succeeded", "rejected"]);
const TERMINAL = new Set(["succeeded", "failed", "rejected", "cancelled"]);
/** Short timings so a killed leader's lease and its orphaned runs are taken over within seconds. */
const UP_ARGS = [
  "--no-ui",
  "--port",
  "0",
  "--interval",
  "250",
  "--lease-ttl",
  "2000",
  "--launch-grace",
  "15000",
  "--orphan-scan",
  "500",
  "--max-concurrent-runs",
  "1",
];

export interface DemoCampaignOptions {
  kills: number;
  seed: number;
  /** Rows of each landed month. @default 2000 */
  sample?: number;
  /** Mean seconds between landings. @default 8 */
  landEveryS?: number;
  log?: (line: string) => void;
}

export interface DemoCampaignResult {
  seed: number;
  kills: number;
  /** Kills that came while a run of the flagship was in flight. */
  killsDuringRuns: number;
  landings: number;
  filesLanded: number;
  sensorTicks: number;
  relaunched: number;
  resumed: number;
  fsckOk: boolean;
  fsckOutput: string;
  seconds: number;
  report: HistoryReport;
  home: string;
}

interface UpProcess {
  child: ChildProcess;
  log(): string;
  exited: Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDemoKillCampaign(opts: DemoCampaignOptions): Promise<DemoCampaignResult> {
  const t0 = Date.now();
  const say = opts.log ?? (() => undefined);
  const rand = random(opts.seed);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-demo-campaign-"));
  const home = path.join(root, "home");
  const landing = path.join(root, "landing");
  const staging = path.join(root, "staging");
  const labels = path.join(root, "labels.csv");
  fs.mkdirSync(landing, { recursive: true });
  fs.writeFileSync(labels, "prediction_id,delayed\n");
  const env = {
    TRAINYARD_HOME: home,
    NO_COLOR: "1",
    TRAINYARD_DEBUG: "",
    FLIGHTS_LANDING: landing,
    FLIGHTS_LABELS: labels,
    FLIGHTS_PROFILE: "sample",
    FLIGHTS_MONITOR_WINDOW: "20s",
  };
  const start = (): UpProcess => {
    const child = spawn(process.execPath, [BIN, "up", PIPELINE, ...UP_ARGS], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    return { child, log: () => out, exited: new Promise((r) => child.on("close", r)) };
  };

  // Months land at random moments: January and February together first (the pipeline needs two
  // months), then one month at a time, each cut with its own sample size so no two landings
  // carry the same bytes, and the later ones with shifted delays.
  const landed: string[] = [];
  let landings = 0;
  let landingOn = true;
  const sample = opts.sample ?? 2000;
  const every = (opts.landEveryS ?? 8) * 1000;
  const lander = (async () => {
    for (let k = 0; landingOn; k++) {
      const months = k === 0 ? [1, 2] : [3 + ((k - 1) % 4)];
      const cut = await cutMonths(staging, months, { sample: sample + k, shifted: () => k > 4 && k % 2 === 1 });
      for (const c of cut) {
        landed.push(`sha256:${createHash("sha256").update(fs.readFileSync(c.path)).digest("hex")}`);
        fs.renameSync(c.path, monthFile(landing, c.month));
      }
      landings++;
      say(`landed ${months.map((m) => `2001-${String(m).padStart(2, "0")}`).join(" + ")} (${sample + k} rows each)`);
      for (const end = Date.now() + every * (0.5 + rand()); landingOn && Date.now() < end; ) await sleep(100);
    }
  })();

  const logs: string[] = [];
  let killsDuringRuns = 0;
  for (let k = 0; k < opts.kills; k++) {
    const up = start();
    await waitFor("the daemon to lead", () => /leading/.test(up.log()), 60_000, up.log);
    const delay = 500 + rand() * 6000;
    await sleep(delay);
    if (await runInFlight(home)) killsDuringRuns++;
    up.child.kill("SIGKILL");
    await up.exited;
    logs.push(up.log());
    say(`kill ${k + 1}/${opts.kills}: kill -9 ${Math.round(delay)} ms after it began to lead`);
  }

  landingOn = false;
  await lander;
  const last = start();
  try {
    await waitFor(
      "every landed month's run to end",
      async () => {
        const h = await readHistory(home);
        const inTicks = new Set(
          h.ticks
            .filter((t) => t.trigger === SENSOR && t.status === "requested")
            .flatMap((t) => ((t.event as { files?: Array<{ digest: string }> })?.files ?? []).map((f) => f.digest)),
        );
        const ended = new Set(h.runs.filter((r) => TERMINAL.has(r.status)).map((r) => r.id));
        const asked = h.ticks.filter((t) => t.status === "requested").flatMap((t) => t.runIds ?? []);
        return landed.every((d) => inTicks.has(d)) && asked.every((id) => ended.has(id));
      },
      600_000,
      last.log,
    );
  } finally {
    last.child.kill("SIGTERM");
    await last.exited;
    logs.push(last.log());
  }
  const history = await readHistory(home);
  const report = checkDaemonHistory(history, undefined, { trigger: SENSOR, landedDigests: landed }, ENDINGS);
  const fsck = spawnSync(process.execPath, [BIN, "fsck"], { cwd: REPO, env: { ...process.env, ...env } });
  const all = logs.join("\n");
  return {
    seed: opts.seed,
    kills: opts.kills,
    killsDuringRuns,
    landings,
    filesLanded: landed.length,
    sensorTicks: history.ticks.filter((t) => t.trigger === SENSOR && t.status === "requested").length,
    relaunched: (all.match(/relaunched orphaned run/g) ?? []).length,
    resumed: (all.match(/resumed orphaned run/g) ?? []).length,
    fsckOk: fsck.status === 0,
    fsckOutput: `${fsck.stdout}${fsck.stderr}`,
    seconds: Math.round((Date.now() - t0) / 1000),
    report,
    home,
  };
}

/** Whether a run of the flagship is in flight now (the kill then orphans it). */
async function runInFlight(home: string): Promise<boolean> {
  if (!fs.existsSync(path.join(home, "metadata.db"))) return false;
  const meta = new SqliteMetadataStore(path.join(home, "metadata.db"));
  try {
    return (await meta.listRuns({ limit: 20 })).some((r) => r.status === "running");
  } finally {
    await meta.close();
  }
}

/** The sensor's and the monitor's ledger and the run table, through a fresh connection. */
async function readHistory(home: string): Promise<DaemonHistory> {
  const meta = new SqliteMetadataStore(path.join(home, "metadata.db"));
  const store = new SqliteTickStore(meta);
  try {
    const ticks = [
      ...(await store.listTicks(SENSOR, { limit: 100_000 })),
      ...(await store.listTicks(MONITOR, { limit: 100_000 })),
    ];
    const queue = [];
    for (const status of ["queued", "launched", "cancelled"] as const)
      queue.push(...(await store.listQueuedRuns({ status })));
    return { ticks, queue, runs: await meta.listRuns({ limit: 100_000 }) };
  } finally {
    await meta.close();
  }
}

export function formatDemoCampaign(r: DemoCampaignResult): string[] {
  const runs = Object.entries(r.report.runsByStatus)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ");
  return [
    `demo-loop kill campaign: seed ${r.seed}, ${r.kills} kill -9 of \`trainyard up\` on the flagship` +
      ` in ${r.seconds} s` +
      ` (${r.killsDuringRuns} while a run was in flight)`,
    `months: ${r.landings} landings (${r.filesLanded} files) at random moments, in ${r.sensorTicks} sensor ticks`,
    `runs: ${runs}; orphans relaunched ${r.relaunched}, resumed ${r.resumed}`,
    `fsck: ${r.fsckOk ? "every artifact verified" : `FAILED\n${r.fsckOutput}`}`,
    "problems (lost or doubled ticks, runs missing, doubled or unfinished, months run twice or never):" +
      ` ${r.report.problems.length}`,
    ...r.report.problems.slice(0, 20).map((p) => `  ${p}`),
  ];
}
