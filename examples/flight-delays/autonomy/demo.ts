/**
 * The autonomy demo: `trainyard up` runs the daemon and the model server on the flagship, a
 * landing simulator drops months of flights-3m into the landing folder, a traffic simulator sends
 * each month's flights to the server and reports their outcomes later, and then a label shift
 * (delays that follow another rule) makes the served AUC fall until the monitor retrains by
 * itself. Every transition is narrated; the demo ends once the shift has been handled.
 *
 *   npm run demo [-- --keep-going] [--sample 5000] [--window 20] [--rows 400] [--every 0] [--state DIR]
 */
import { appendFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cutMonths, monthTraffic, moveIntoPlace, type Flight } from "./flight-months.js";
import { LoopWatch, type LoopEvent } from "./loop-watch.js";
import { EXAMPLE_DIR, startUp, type RunningUp } from "./start-up.js";
import { LabelsFile, rocAuc, serveFlights } from "./traffic.js";

const MONTHS = ["", "January", "February", "March", "April", "May", "June"];

const { values: flags } = parseArgs({
  options: {
    state: { type: "string", default: join(EXAMPLE_DIR, "demo") },
    sample: { type: "string" },
    window: { type: "string", default: "20" },
    rows: { type: "string", default: "400" },
    every: { type: "string", default: "0" },
    "shift-from": { type: "string", default: "4" },
    "keep-going": { type: "boolean", default: false },
    events: { type: "string" },
    timeout: { type: "string", default: "900" },
  },
});
const state = resolve(flags.state!);
const windowMs = Number(flags.window) * 1000;
const rowsPerWindow = Number(flags.rows);
const shiftFrom = Number(flags["shift-from"]);
const sample = flags.sample ? Number(flags.sample) : undefined;
const waitMs = Number(flags.timeout) * 1000;
const shifted = (month: number) => month >= shiftFrom;
/** Months cut ahead of time, by month; traffic drawn ahead, by month. */
const staged = new Map<number, { month: number; path: string; rows: number }>();
const trafficPools = new Map<number, Promise<Flight[]>>();

const t0 = Date.now();
const clock = (at = Date.now()) => new Date(at).toISOString().slice(11, 19);
const events: Array<LoopEvent & { source: string }> = [];
function record(e: LoopEvent, source: string): void {
  events.push({ ...e, source });
  process.stdout.write(`${clock(Date.now())}  ${e.text}\n`);
  if (flags.events) appendFileSync(flags.events, `${JSON.stringify({ ...e, source })}\n`);
}
/** The simulators' own news, narrated and recorded like the loop's. */
const say = (kind: string, text: string, extra: Record<string, unknown> = {}) =>
  record({ kind: kind as LoopEvent["kind"], at: Date.now(), text, ...extra }, "simulator");

async function main(): Promise<number> {
  rmSync(state, { recursive: true, force: true });
  if (flags.events) rmSync(flags.events, { force: true });
  // Months are cut and traffic drawn while `up` starts: landing is then a rename, as it would be.
  const months = flags["keep-going"] ? [1, 2, 3, 4, 5, 6] : Array.from({ length: shiftFrom - 1 }, (_, k) => k + 1);
  const [up] = await Promise.all([
    startUp({ state, profile: sample ? "sample" : "demo", windowMs }),
    cutMonths(join(state, "staging"), months, { sample, shifted }).then((cut) =>
      cut.forEach((c) => staged.set(c.month, c)),
    ),
  ]);
  process.stdout.write(
    `${clock()}  trainyard up: the daemon and the model server are running` + ` (${up.url}; log: ${up.log})\n`,
  );
  const watch = await LoopWatch.open({
    home: up.home,
    serverUrl: up.url,
    pipeline: "flight-delays",
    triggers: ["landed", "served-auc"],
    model: "flight-delays",
  });
  let polling = true;
  const poller = (async () => {
    while (polling) {
      for (const e of await watch.poll().catch(() => [])) record(e, "loop");
      await sleep(250);
    }
  })();
  try {
    await scenario(up, watch);
    return 0;
  } catch (err) {
    process.stdout.write(`${clock()}  the demo stopped: ${(err as Error).message}\n`);
    return 1;
  } finally {
    polling = false;
    await poller;
    const code = await up.stop();
    process.stdout.write(`${clock()}  trainyard up drained and exited (${code})\n`);
    await watch.close();
  }
}

async function scenario(up: RunningUp, watch: LoopWatch): Promise<void> {
  const { url, landing } = up;
  const labels = new LabelsFile(up.labels);
  let lastLanding = 0;
  const land = async (months: number[]) => {
    const every = Number(flags.every) * 1000;
    if (lastLanding && Date.now() - lastLanding < every) await sleep(every - (Date.now() - lastLanding));
    const landed = moveIntoPlace(
      months.map((m) => staged.get(m)!),
      landing,
    );
    lastLanding = Date.now();
    const names = landed.map((l) => `${MONTHS[l.month]}${shifted(l.month) ? " (shifted)" : ""}`).join(" and ");
    const rows = landed.reduce((a, l) => a + l.rows, 0);
    say("landed", `landing simulator: ${names} 2001 landed (${rows.toLocaleString("en-US")} flights)`, {
      files: landed.map((l) => l.file),
      landedAt: landed[0].landedAt,
    });
    return handled(watch, landed[0].landedAt);
  };

  // Data landing before the daemon leads would be found all the same, only later: wait, to show how soon.
  await until(() => watch.evaluated("landed"), "the daemon to watch the landing folder");
  const first = await land([1, 2]);
  for (let m = 3; m <= Math.min(6, shiftFrom); m++) void trafficPool(m).catch(() => undefined);
  if (first.status !== "succeeded") throw new Error(`the first run ended ${first.status}: nothing to serve`);
  for (let m = 3; m < shiftFrom; m++) {
    await traffic(url, labels, m, 2);
    await land([m]);
  }
  say(
    "shift",
    `label shift: from ${MONTHS[shiftFrom]} on, delays follow another rule` +
      " (morning flights run late, afternoon ones leave on time)",
  );
  const fired = await traffic(url, labels, shiftFrom, 8, true);
  if (!fired) throw new Error("the monitor did not fire within 8 windows of shifted traffic");
  const retrainId = (
    await until(
      () => watch.allRuns().find((r) => watch.tickOf(r.id)?.key === fired.tick?.key),
      "the run the monitor asked for to start",
    )
  ).id;
  // The narration's own "run-finished" line, not the store's status: "handled" always comes after it.
  const retrain = await untilEvent(
    (e) => e.kind === "run-finished" && e.runId === retrainId,
    "the retrain the monitor started to finish",
  );
  say(
    "handled",
    `the shift was handled: the monitor noticed it and its retrain ended ${retrain.status}` +
      (flags["keep-going"] ? "; going on with the next months" : "; the demo ends here (--keep-going lands the rest)"),
  );
  if (!flags["keep-going"]) return;
  await land([shiftFrom]);
  for (let m = shiftFrom + 1; m <= 6; m++) {
    await traffic(url, labels, m, 2);
    await land([m]);
  }
  say("handled", "every month of flights-3m has landed: the demo ends here");
}

/** Waits for the run a landing started to finish and, if it promoted, for the server to serve it. */
async function handled(_watch: LoopWatch, landedAt: number) {
  const detected = await untilEvent(
    (e) => e.kind === "detected" && e.tick?.status === "requested" && e.at >= landedAt - 1000,
    "the daemon to detect the landing",
  );
  const runId = detected.tick!.runIds?.[0];
  const done = await untilEvent((e) => e.kind === "run-finished" && e.runId === runId, `run ${runId} to finish`);
  const promoted = events.find((e) => e.kind === "promoted" && e.runId === runId);
  if (promoted) await untilEvent((e) => e.kind === "served" && e.version === promoted.version, "the server to swap");
  return done;
}

/**
 * Serves `waves` windows of the month's flights (one wave per monitor window) and writes their
 * labels a third of a window later. With `untilFired`, stops as soon as the monitor fires.
 */
async function traffic(url: string, labels: LabelsFile, month: number, waves: number, untilFired = false) {
  const pool = await trafficPool(month);
  const firedBefore = events.filter((e) => e.kind === "monitor-fired").length;
  for (let k = 0; k < waves; k++) {
    const fired = events.filter((e) => e.kind === "monitor-fired");
    if (untilFired && fired.length > firedBefore) return fired[fired.length - 1];
    const start = Math.ceil(Date.now() / windowMs) * windowMs;
    await sleep(start + windowMs * 0.05 - Date.now());
    const served = await serveFlights(url, pool.slice(k * rowsPerWindow, (k + 1) * rowsPerWindow));
    const version = served[0]?.version;
    say("traffic", `traffic: ${served.length} ${MONTHS[month]} flights predicted by version ${version}`, { version });
    await sleep(windowMs * 0.3);
    labels.add(served);
    const auc = rocAuc(served);
    say("labels", `labels: ${served.length} outcomes arrived; AUC of those predictions ${auc?.toFixed(3) ?? "n/a"}`, {
      auc,
      version,
    });
  }
  if (!untilFired) return undefined;
  const fired = () => events.filter((e) => e.kind === "monitor-fired")[firedBefore];
  return until(fired, "the monitor to fire", windowMs * 3);
}

/** Enough of the month's flights for the longest traffic phase, drawn once (and ahead of time). */
function trafficPool(month: number): Promise<Flight[]> {
  let pool = trafficPools.get(month);
  if (!pool) trafficPools.set(month, (pool = monthTraffic(month, rowsPerWindow * 8, { shifted: shifted(month) })));
  return pool;
}

async function untilEvent(pred: (e: LoopEvent) => boolean, what: string): Promise<LoopEvent> {
  return until(() => events.find(pred), what);
}

async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = waitMs,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

process.exitCode = await main();
process.stdout.write(`${clock()}  done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
