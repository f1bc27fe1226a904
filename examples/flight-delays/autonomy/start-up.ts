/**
 * `trainyard up` on the flagship as the demo and its benchmark start it: the daemon and the model
 * server in one child process, the triggers of ../trainyard.config.ts pointed at a state folder
 * (landing folder, labels file, home), and every prediction logged so the monitor can join labels.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const EXAMPLE_DIR = resolve(here, "..");
const REPO = resolve(EXAMPLE_DIR, "../..");

export interface UpOptions {
  /** Holds landing/, labels.csv, home/ and up.log. */
  state: string;
  /** A param profile for the runs ("sample" for small months). @default none */
  profile?: string;
  /** Length of a monitor window. */
  windowMs: number;
}

export interface RunningUp {
  url: string;
  home: string;
  landing: string;
  labels: string;
  log: string;
  /** SIGTERM, then waits for both parts to drain. */
  stop(): Promise<number | null>;
}

export async function startUp(o: UpOptions): Promise<RunningUp> {
  const landing = join(o.state, "landing");
  const home = join(o.state, "home");
  const labels = join(o.state, "labels.csv");
  const log = join(o.state, "up.log");
  mkdirSync(landing, { recursive: true });
  const up = spawn(
    process.execPath,
    [
      join(REPO, "bin", "trainyard.js"),
      "up",
      join(EXAMPLE_DIR, "pipeline.ts"),
      "--port",
      "0",
      "--log-sample",
      "1",
      "--interval",
      "250",
      "--max-concurrent-runs",
      "1",
    ],
    {
      env: {
        ...process.env,
        TRAINYARD_HOME: home,
        NO_COLOR: "1",
        FLIGHTS_LANDING: landing,
        FLIGHTS_LABELS: labels,
        FLIGHTS_PROFILE: o.profile ?? "",
        FLIGHTS_MONITOR_WINDOW: `${o.windowMs}ms`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  up.stderr.pipe(createWriteStream(log));
  const exited = new Promise<number | null>((r) => up.on("close", (code) => r(code)));
  let stdout = "";
  const url = await new Promise<string>((ok, fail) => {
    up.stdout.on("data", (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) ok(m[1]);
    });
    void exited.then((code) => fail(new Error(`trainyard up exited (${code}) before listening; see ${log}`)));
  });
  return {
    url,
    home,
    landing,
    labels,
    log,
    stop: async () => {
      up.kill("SIGTERM");
      return exited;
    },
  };
}
