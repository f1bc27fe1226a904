/**
 * The daemon kill campaign: `trainyard daemon` serves a fast schedule and a file sensor while
 * files land at random moments; it is killed with -9 at random moments, and now and then at a
 * named crash point (TRAINYARD_CRASH_AT), and restarted each time. A last daemon then runs until
 * every landed file and every tick's run is done, and the ledger is checked (tick-history-checker).
 * Used by test/daemon/daemon-kill-campaign.test.ts (5 kills) and bench/daemon-kill-campaign.ts (50).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SqliteTickStore } from "../../src/store/sqlite-tick-store.js";
import { random } from "../faults/kill-campaign.js";
import { checkDaemonHistory, type DaemonHistory, type HistoryReport } from "./tick-history-checker.js";
import { DAEMON_FIXTURES, FAST, startDaemon, waitFor, type DaemonProcess } from "./support.js";

const MODULE = path.join(DAEMON_FIXTURES, "campaign.ts");
const SCHEDULE = { trigger: "campaign/fast", stepMs: 3000, maxCatchUp: 5 };
const SENSOR = "campaign/landed";
/** The crash points of test/daemon/daemon-crash-points.test.ts, taken in turn by every fifth kill. */
export const CRASH_POINTS = ["tick-created", "runs-created", "run-launched", "cursor-stored", "tick-done"] as const;
const TERMINAL = new Set(["succeeded", "failed", "rejected", "cancelled"]);

export interface CampaignOptions {
  kills: number;
  seed: number;
  /** Progress lines. @default none */
  log?: (line: string) => void;
}

export interface CampaignResult {
  seed: number;
  kills: number;
  randomKills: number;
  /** Random kills while the daemon was starting or standing by (the others came while it led). */
  killsBeforeLeading: number;
  crashPointKills: Record<string, number>;
  /** Crash-point kills whose point was not reached in time (then killed with -9 all the same). */
  crashPointMissed: number;
  filesLanded: number;
  sensorTicks: number;
  relaunched: number;
  resumed: number;
  seconds: number;
  report: HistoryReport;
  home: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDaemonKillCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const t0 = Date.now();
  const say = opts.log ?? (() => undefined);
  const rand = random(opts.seed);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-daemon-campaign-"));
  const home = path.join(root, "home");
  const landing = path.join(root, "landing");
  fs.mkdirSync(landing, { recursive: true });
  const env = { LANDING_DIR: landing };
  const landed: string[] = [];
  const logs: string[] = [];
  const result = {
    randomKills: 0,
    killsBeforeLeading: 0,
    crashPointKills: {} as Record<string, number>,
    crashPointMissed: 0,
  };

  // Files land at random moments the whole time, atomically (written aside, renamed into place).
  let landingOn = true;
  const lander = (async () => {
    for (let i = 0; landingOn; i++) {
      await sleep(300 + rand() * 2700);
      const count = rand() < 0.3 ? 2 : 1;
      for (let j = 0; j < count && landingOn; j++) {
        const bytes = `file ${i}.${j} seed ${opts.seed} ${rand()}\n`;
        const tmp = path.join(landing, `.part-${i}-${j}`);
        fs.writeFileSync(tmp, bytes);
        fs.renameSync(tmp, path.join(landing, `f-${i}-${j}.csv`));
        landed.push(`sha256:${createHash("sha256").update(bytes).digest("hex")}`);
      }
    }
  })();

  const start = (extra: Record<string, string> = {}): DaemonProcess =>
    startDaemon(home, [MODULE, ...FAST], { ...env, ...extra });
  for (let k = 0; k < opts.kills; k++) {
    const point = k % 5 === 4 ? CRASH_POINTS[Math.floor(k / 5) % CRASH_POINTS.length] : undefined;
    let d: DaemonProcess;
    if (point) {
      const at = `${point}:${1 + Math.floor(rand() * 3)}`;
      d = start({ TRAINYARD_CRASH_AT: at });
      const died = await Promise.race([d.exited, sleep(30_000).then(() => undefined)]);
      if (died) result.crashPointKills[point] = (result.crashPointKills[point] ?? 0) + 1;
      else {
        result.crashPointMissed++;
        d.child.kill("SIGKILL");
      }
      say(`kill ${k + 1}/${opts.kills}: crash point ${at}${died ? "" : " not reached in 30 s, killed -9"}`);
    } else {
      d = start();
      // One kill in five lands while the daemon starts or stands by; the others while it leads,
      // which it does only once the killed leader's lease has expired.
      const early = rand() < 0.2;
      if (!early) await waitFor("the daemon to lead", () => /leading/.test(d.log()), 30_000, d.log);
      const delay = early ? rand() * 1500 : 200 + rand() * 3000;
      await sleep(delay);
      d.child.kill("SIGKILL");
      result.randomKills++;
      if (early) result.killsBeforeLeading++;
      const since = early ? "its start" : "it began to lead";
      say(`kill ${k + 1}/${opts.kills}: kill -9 ${Math.round(delay)} ms after ${since}`);
    }
    await d.exited;
    logs.push(d.log());
  }

  // The last daemon: landing stops, and it runs until every file and tick is done.
  landingOn = false;
  await lander;
  const last = start();
  try {
    const slotsBefore = (await readHistory(home)).ticks.filter((t) => t.trigger === SCHEDULE.trigger).length;
    await waitFor(
      "every landed file and every tick's run to be done",
      async () => {
        const h = await readHistory(home);
        const inTicks = new Set(
          h.ticks
            .filter((t) => t.trigger === SENSOR && t.status === "requested")
            .flatMap((t) => ((t.event as { files?: Array<{ digest: string }> })?.files ?? []).map((f) => f.digest)),
        );
        const finished = new Set(h.runs.filter((r) => TERMINAL.has(r.status)).map((r) => r.id));
        const runIds = h.ticks.filter((t) => t.status === "requested").flatMap((t) => t.runIds ?? []);
        const scheduleTicks = h.ticks.filter((t) => t.trigger === SCHEDULE.trigger).length;
        // Schedule runs keep coming: done when all but the newest few have finished.
        const open = runIds.filter((id) => !finished.has(id)).length;
        return landed.every((d) => inTicks.has(d)) && open <= 2 && scheduleTicks >= slotsBefore + 2;
      },
      180_000,
      last.log,
    );
  } finally {
    last.child.kill("SIGTERM");
    await last.exited;
    logs.push(last.log());
  }
  const history = await readHistory(home);
  const report = checkDaemonHistory(history, SCHEDULE, { trigger: SENSOR, landedDigests: landed });
  const all = logs.join("\n");
  return {
    seed: opts.seed,
    kills: opts.kills,
    ...result,
    filesLanded: landed.length,
    sensorTicks: history.ticks.filter((t) => t.trigger === SENSOR && t.status === "requested").length,
    relaunched: (all.match(/relaunched orphaned run/g) ?? []).length,
    resumed: (all.match(/resumed orphaned run/g) ?? []).length,
    seconds: Math.round((Date.now() - t0) / 1000),
    report,
    home,
  };
}

/** The ledger and run table of a home, through a fresh connection. */
async function readHistory(home: string): Promise<DaemonHistory> {
  const meta = new SqliteMetadataStore(path.join(home, "metadata.db"));
  const store = new SqliteTickStore(meta);
  try {
    const ticks = [
      ...(await store.listTicks(SCHEDULE.trigger, { limit: 100_000 })),
      ...(await store.listTicks(SENSOR, { limit: 100_000 })),
    ];
    const queue = [];
    for (const status of ["queued", "launched", "cancelled"] as const)
      queue.push(...(await store.listQueuedRuns({ status })));
    return { ticks, queue, runs: await meta.listRuns({ limit: 100_000 }) };
  } finally {
    await meta.close();
  }
}

export function formatCampaign(r: CampaignResult): string[] {
  const points =
    Object.entries(r.crashPointKills)
      .map(([p, n]) => `${p} ${n}`)
      .join(", ") || "none";
  const runs = Object.entries(r.report.runsByStatus)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ");
  return [
    `daemon kill campaign: seed ${r.seed}, ${r.kills} kills of the daemon in ${r.seconds} s` +
      ` (${r.randomKills} random kill -9, ${r.killsBeforeLeading} of them before it led;` +
      ` at crash points: ${points}; points not reached: ${r.crashPointMissed})`,
    `schedule (every 3 s, catchUp all, maxCatchUp 5): ${r.report.requested - r.sensorTicks} slots run,` +
      ` ${r.report.skippedByCatchUp} skipped by the catch-up limit`,
    `files: ${r.filesLanded} landed at random moments, in ${r.sensorTicks} sensor ticks`,
    `runs: ${runs}; orphans relaunched ${r.relaunched}, resumed ${r.resumed}; ${r.report.waiting} queued at the end`,
    "problems (lost or doubled ticks, runs missing, doubled or unfinished, files run twice or never):" +
      ` ${r.report.problems.length}`,
    ...r.report.problems.slice(0, 20).map((p) => `  ${p}`),
  ];
}
