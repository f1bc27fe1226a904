/**
 * `trainyard daemon` with 1,000 schedules and 1,000 cheap sensors, as a child process exactly as
 * a user starts it: p99 tick lag (recorded minus scheduled time) while the schedules fire, idle
 * CPU (% of one core) and RSS while nothing is due, and the daemon's overhead per launched run
 * before the run's own start (tick due -> child spawned). Targets: p99 lag < 1 s, idle CPU < 2%,
 * RSS < 150 MB, overhead < 50 ms.
 *
 *   npx tsx bench/daemon.ts [--busy 30] [--idle 65] [--launches 5]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SqliteMetadataStore } from "../src/store/sqlite-metadata-store.js";
import { flag, formatTable } from "./support/timing.js";

const BUSY_S = Number(flag("busy", "30"));
// A minute or more, so the window holds a round of per-trigger heartbeats (one a minute each).
const IDLE_S = Number(flag("idle", "65"));
const LAUNCHES = Number(flag("launches", "5"));
const BIN = resolve("bin/trainyard.js");
const root = mkdtempSync(join(tmpdir(), "ty-bench-daemon-"));
const HZ = 100;

/** A module with 1,000 schedules and 1,000 sensors; `busy` schedules fire once a minute at second i % 60. */
function writeModule(dir: string, busy: boolean): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "many.ts");
  writeFileSync(
    file,
    `import { pipeline } from "trainyard";
const p = pipeline("bench");
p.step("work", { run: () => 1 });
for (let i = 0; i < 1000; i++) {
  p.schedule("s" + i, { catchUp: "all", overlap: "allow", cron: ${busy ? '(i % 60) + " * * * * *"' : '"0 0 1 1 *"'} });
  p.sensor("f" + i, { evaluate: () => ({}) }); // polled every 30 s, the function sensor default
}
export default p;
`,
  );
  return file;
}

const started: ChildProcess[] = [];

function startDaemon(home: string, args: string[]): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, [BIN, "daemon", ...args], {
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  return { child, log: () => log };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

function rssMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log().slice(-3000)}`);
    await sleep(200);
  }
}

async function stop(d: { child: ChildProcess }): Promise<void> {
  d.child.kill("SIGTERM");
  await new Promise((r) => d.child.once("close", r));
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}

async function busyPhase(): Promise<{
  ticks: number;
  p50: number;
  p99: number;
  max: number;
  cpu: number;
  rss: number;
}> {
  const home = join(root, "busy");
  const module = writeModule(join(root, "busy-mod"), true);
  // Runs stay queued (limit 0 for the pipeline): this phase measures ticking, not run start-up.
  const d = startDaemon(home, [module, "--pipeline-limit", "bench=0"]);
  await until("the daemon to lead", () => /leading/.test(d.log()), 60_000, d.log);
  await sleep(3000);
  const pid = d.child.pid!;
  const t0 = Date.now();
  const c0 = cpuTicks(pid);
  await sleep(BUSY_S * 1000);
  const cpu = ((cpuTicks(pid) - c0) / HZ / ((Date.now() - t0) / 1000)) * 100;
  const rss = rssMb(pid, "VmHWM");
  await stop(d);
  const meta = new SqliteMetadataStore(join(home, "metadata.db"));
  const lags: number[] = [];
  const rows = meta.database
    .prepare(`SELECT scheduled_at, evaluated_at FROM trigger_ticks WHERE scheduled_at >= ? AND scheduled_at < ?`)
    .all(t0, t0 + BUSY_S * 1000) as Array<{ scheduled_at: number; evaluated_at: number }>;
  for (const r of rows) lags.push(Number(r.evaluated_at) - Number(r.scheduled_at));
  await meta.close();
  return { ticks: lags.length, p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: Math.max(...lags), cpu, rss };
}

async function idlePhase(): Promise<{ cpu: number; rss: number }> {
  const home = join(root, "idle");
  const module = writeModule(join(root, "idle-mod"), false);
  const d = startDaemon(home, [module]);
  await until("the daemon to lead", () => /leading/.test(d.log()), 60_000, d.log);
  // Past the first evaluation of every trigger (each stores its starting point).
  await sleep(10_000);
  const pid = d.child.pid!;
  const t0 = Date.now();
  const c0 = cpuTicks(pid);
  await sleep(IDLE_S * 1000);
  const cpu = ((cpuTicks(pid) - c0) / HZ / ((Date.now() - t0) / 1000)) * 100;
  const rss = rssMb(pid, "VmRSS");
  await stop(d);
  return { cpu, rss };
}

async function launchPhase(): Promise<{ sinceDue: number[]; pickUp: number[] }> {
  const home = join(root, "launch");
  const module = resolve("test/fixtures/daemon/ticking.ts");
  const d = startDaemon(home, [module]);
  const launched = () => [
    ...d.log().matchAll(/launched run \S+ .*?(\d+) ms after pick-up, (\d+) ms after its tick was due/g),
  ];
  await until(`${LAUNCHES} launches`, () => launched().length >= LAUNCHES, 120_000, d.log);
  await stop(d);
  const m = launched().slice(0, LAUNCHES);
  return { pickUp: m.map((x) => Number(x[1])), sinceDue: m.map((x) => Number(x[2])) };
}

try {
  console.log(
    `daemon benchmark: 1,000 schedules + 1,000 sensors; load average ${loadavg()[0].toFixed(2)} on this shared machine`,
  );
  const busy = await busyPhase();
  const idle = await idlePhase();
  const launch = await launchPhase();
  const ms = (n: number) => `${Math.round(n)} ms`;
  console.log(
    formatTable([
      ["figure", "value", "target"],
      [
        `tick lag p50 / p99 / max (${busy.ticks} ticks in ${BUSY_S} s)`,
        `${ms(busy.p50)} / ${ms(busy.p99)} / ${ms(busy.max)}`,
        "p99 < 1 s",
      ],
      ["CPU while ~17 ticks/s are recorded", `${busy.cpu.toFixed(1)}% of a core`, "-"],
      [`idle CPU (${IDLE_S} s, nothing due)`, `${idle.cpu.toFixed(2)}% of a core`, "< 2%"],
      ["RSS idle / peak while busy", `${idle.rss.toFixed(0)} MB / ${busy.rss.toFixed(0)} MB`, "< 150 MB"],
      [
        `launch overhead: tick due -> child spawned (median / max of ${LAUNCHES})`,
        `${ms(quantile(launch.sinceDue, 0.5))} / ${ms(Math.max(...launch.sinceDue))}`,
        "< 50 ms",
      ],
      ["  of which pick-up -> spawned", `${ms(quantile(launch.pickUp, 0.5))} / ${ms(Math.max(...launch.pickUp))}`, ""],
    ]),
  );
} finally {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
}
