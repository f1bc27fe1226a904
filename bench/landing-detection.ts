/**
 * Data landing to detection: files written into a watched folder, to the tick that records them
 * in the ledger, with `trainyard daemon` as a child process exactly as a user starts it (fs.watch
 * wakes the sensor early; its poll stays the source of truth). Each landing is a new 1 MB or
 * 100 MB file written in place; latency is the tick's recorded time minus the end of the write.
 * The settle interval (the file must stay unchanged that long) is part of it and shown apart.
 * No runs are launched (--pipeline-limit landed=0): this measures detection only. Target: <= 1 s.
 *   npx tsx bench/landing-detection.ts [--landings 50] [--large-landings 50] [--settle 250] [--interval 1000]
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SqliteMetadataStore } from "../src/store/sqlite-metadata-store.js";
import { SqliteTickStore } from "../src/store/sqlite-tick-store.js";
import { flag, formatTable, median } from "./support/timing.js";

const LANDINGS = Number(flag("landings", "50"));
const LARGE_LANDINGS = Number(flag("large-landings", "50"));
const SETTLE_MS = Number(flag("settle", "250"));
const INTERVAL_MS = Number(flag("interval", "1000"));
const BIN = resolve("bin/trainyard.js");
const root = mkdtempSync(join(tmpdir(), "ty-bench-landing-"));
const landing = join(root, "landing");
const home = join(root, "home");
mkdirSync(landing);
const module = join(root, "landed.ts");
writeFileSync(
  module,
  `import { pipeline } from "trainyard";
const p = pipeline("landed");
p.sensor("files", { folder: ${JSON.stringify(landing)}, glob: "*.bin", settle: "${SETTLE_MS}ms", debounce: "0ms",
  interval: "${INTERVAL_MS}ms", overlap: "allow" });
p.step("count", { run: () => 1 });
export default p;
`,
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const daemon = spawn(process.execPath, [BIN, "daemon", module, "--pipeline-limit", "landed=0"], {
  env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1" },
  stdio: ["ignore", "pipe", "pipe"],
});
let log = "";
daemon.stdout!.on("data", (d) => (log += d));
daemon.stderr!.on("data", (d) => (log += d));

function p95(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
}

async function tickFor(name: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const meta = new SqliteMetadataStore(join(home, "metadata.db"));
    try {
      const ticks = await new SqliteTickStore(meta).listTicks("landed/files", { limit: 5 });
      const tick = ticks.find((t) =>
        (t.event as { files?: Array<{ name: string }> })?.files?.some((f) => f.name === name),
      );
      if (tick) return tick.evaluatedAt;
    } finally {
      await meta.close();
    }
    if (Date.now() > deadline) throw new Error(`no tick for ${name} within ${timeoutMs} ms\n${log.slice(-3000)}`);
    await sleep(50);
  }
}

async function measure(label: string, bytes: number, count: number): Promise<number[]> {
  const body = randomBytes(bytes);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    // New bytes each time (the sensor ignores content it has seen), written in place.
    body.writeUInt32BE(i, 0);
    body.write(label, 4);
    const name = `${label}-${i}.bin`;
    writeFileSync(join(landing, name), body);
    const landedAt = Date.now();
    latencies.push((await tickFor(name, 60_000)) - landedAt);
    rmSync(join(landing, name));
    await sleep(100 + Math.random() * 400);
  }
  return latencies;
}

try {
  const started = Date.now();
  while (!/leading/.test(log)) {
    if (Date.now() - started > 60_000 || daemon.exitCode !== null) {
      throw new Error(`the daemon did not start:\n${log}`);
    }
    await sleep(100);
  }
  await sleep(1500); // the sensor's first evaluation stores its cursor
  const small = await measure("1mb", 1 << 20, LANDINGS);
  const large = await measure("100mb", 100 << 20, LARGE_LANDINGS);
  const row = (what: string, v: number[]) => [
    what,
    String(v.length),
    `${median(v).toFixed(0)} ms`,
    `${p95(v).toFixed(0)} ms`,
    `${(median(v) - SETTLE_MS).toFixed(0)} ms`,
    `${(p95(v) - SETTLE_MS).toFixed(0)} ms`,
  ];
  console.log(
    `landing -> tick recorded; fs.watch wake-up, poll every ${INTERVAL_MS} ms, settle ${SETTLE_MS} ms, debounce 0`,
  );
  console.log(
    formatTable([
      ["file", "landings", "median", "p95", "median - settle", "p95 - settle"],
      row("1 MB", small),
      row("100 MB", large),
    ]),
  );
  const worst = Math.max(p95(small), p95(large));
  console.log(
    `target: <= 1000 ms landing to detection: ${worst <= 1000 ? "met" : "NOT met"} (worst p95 ${worst.toFixed(0)} ms)`,
  );
} finally {
  if (daemon.exitCode === null && daemon.signalCode === null) {
    daemon.kill("SIGTERM");
    await new Promise((r) => daemon.once("close", r));
  }
  rmSync(root, { recursive: true, force: true });
}
