/**
 * Landing to served on the flagship: `trainyard up` (daemon + model server) on the full
 * flights-3m pipeline, full months, the demo's gate bounds (trainyard.config.ts); a month lands,
 * and the time to (a) its detection by the daemon (the sensor's tick; target <= 1 s) and (b) the
 * new model answering on the server (target <= 60 s) is measured, with the run's step timings
 * from the metadata store, the launch of its process and the server's swap. January and February
 * land first (a warm-up, not measured); then each later month in turn. Medians over the months
 * whose model was promoted.
 *
 *   npx tsx bench/autonomy.ts [--months 3,4,5,6] [--sample ROWS]
 */
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { landMonths } from "../examples/flight-delays/autonomy/flight-months.js";
import { LoopWatch, type LoopEvent } from "../examples/flight-delays/autonomy/loop-watch.js";
import { startUp } from "../examples/flight-delays/autonomy/start-up.js";
import { flag, formatTable, median } from "./support/timing.js";

const MONTHS = flag("months", "3,4,5,6").split(",").map(Number);
const SAMPLE = flag("sample", "") ? Number(flag("sample", "")) : undefined;
const state = resolve("bench/.work/autonomy");
const TIMEOUT_MS = 15 * 60_000;

interface Measured {
  month: number;
  status: string;
  detectMs: number;
  launchMs: number;
  runMs: number;
  promoteToServedMs?: number;
  totalMs?: number;
  steps: Record<string, number>;
}

async function main(): Promise<void> {
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  const up = await startUp({ state, profile: SAMPLE ? "sample" : "demo", windowMs: 3_600_000 });
  const watch = await LoopWatch.open({
    home: up.home,
    serverUrl: up.url,
    pipeline: "flight-delays",
    triggers: ["landed"],
    model: "flight-delays",
  });
  const events: LoopEvent[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      events.push(...(await watch.poll().catch(() => [])));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const until = async <T>(fn: () => T | undefined, what: string): Promise<T> => {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; see ${up.log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const landAndMeasure = async (months: number[]): Promise<Measured> => {
    const [landed] = await landMonths(up.landing, months, { sample: SAMPLE });
    const detected = await until(
      () =>
        events.find((e) => e.kind === "detected" && e.at >= landed.landedAt - 1000 && e.tick?.status === "requested"),
      "detection",
    );
    const runId = detected.tick!.runIds![0];
    const started = await until(() => events.find((e) => e.kind === "run-started" && e.runId === runId), "the run");
    const finished = await until(
      () => events.find((e) => e.kind === "run-finished" && e.runId === runId),
      "the run's end",
    );
    const run = watch.run(runId)!;
    const promoted = events.find((e) => e.kind === "promoted" && e.runId === runId);
    const served =
      promoted &&
      (await until(() => events.find((e) => e.kind === "served" && e.version === promoted.version), "the swap"));
    process.stderr.write(`${months.join("+")}: ${finished.text}\n`);
    return {
      month: months[months.length - 1],
      status: finished.status!,
      detectMs: detected.at - landed.landedAt,
      launchMs: (run.startedAt ?? started.at) - detected.at,
      runMs: (run.finishedAt ?? finished.at) - (run.startedAt ?? started.at),
      promoteToServedMs: served && promoted ? served.at - promoted.at : undefined,
      totalMs: served ? served.at - landed.landedAt : undefined,
      steps: finished.steps ?? {},
    };
  };
  try {
    const warm = await landAndMeasure([1, 2]);
    if (warm.status !== "succeeded") throw new Error(`the first run ended ${warm.status}`);
    const rows: Measured[] = [];
    for (const m of MONTHS) rows.push(await landAndMeasure([m]));
    print(warm, rows);
  } finally {
    polling = false;
    await poller;
    await up.stop();
    await watch.close();
  }
}

function print(warm: Measured, rows: Measured[]): void {
  const s = (ms?: number) => (ms === undefined ? "-" : (ms / 1000).toFixed(2));
  const promoted = rows.filter((r) => r.totalMs !== undefined);
  const med = (pick: (r: Measured) => number | undefined, of = rows) => {
    const v = of.map(pick).filter((x): x is number => x !== undefined);
    return v.length ? median(v) : undefined;
  };
  const table = [["month", "outcome", "detect s", "launch s", "run s", "promoted->served s", "landed->served s"]];
  for (const r of [warm, ...rows]) {
    const name = r === warm ? "1+2 (warm-up)" : `2001-0${r.month}`;
    table.push([name, r.status, s(r.detectMs), s(r.launchMs), s(r.runMs), s(r.promoteToServedMs), s(r.totalMs)]);
  }
  table.push([
    "median",
    `${promoted.length}/${rows.length} promoted`,
    s(med((r) => r.detectMs)),
    s(med((r) => r.launchMs)),
    s(med((r) => r.runMs)),
    s(med((r) => r.promoteToServedMs, promoted)),
    s(med((r) => r.totalMs, promoted)),
  ]);
  console.log(
    `landing -> served on flights-3m${SAMPLE ? ` (sample of ${SAMPLE} rows a month)` : " (full months)"},` +
      " trainyard up (daemon + server), targets: detect <= 1 s, served <= 60 s\n",
  );
  console.log(formatTable(table));
  const stepIds = [...new Set(rows.flatMap((r) => Object.keys(r.steps)))];
  const stepRows = stepIds.map((id) => [id, med((r) => r.steps[id]) ?? 0] as const).sort((a, b) => b[1] - a[1]);
  console.log("\nstep timings of the measured runs (median s; steps of one run overlap where the DAG allows):\n");
  console.log(formatTable([["step", "median s"], ...stepRows.map(([id, ms]) => [id, s(ms)])]));
  console.log(`\nstate kept in ${join("bench/.work/autonomy")} (up.log: the daemon's and server's own log)`);
}

await main();
