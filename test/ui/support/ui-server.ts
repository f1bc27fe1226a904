/**
 * `trainyard ui` as a real child process on a free loopback port, against a given home, for the
 * browser tests and the UI benchmark. Resolves once the server prints its address.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { REPO } from "../../engine/support.js";

const BIN = path.join(REPO, "bin", "trainyard.js");

export interface UiServer {
  url: string;
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export async function startUiServer(
  home: string,
  modules: string[],
  extraArgs: string[] = [],
  env: Record<string, string> = {},
  /** Another checkout's `bin/trainyard.js` (the UI benchmark's baseline); this one's by default. */
  bin = BIN,
): Promise<UiServer> {
  const child = spawn(process.execPath, [bin, "ui", ...modules, "--port", "0", ...extraArgs], {
    cwd: REPO,
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1", TRAINYARD_DEBUG: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`trainyard ui printed no address in 30 s:\n${out}`)), 30_000);
    const look = () => {
      const m = /(http:\/\/(?:127\.0\.0\.1|localhost):\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", look);
    child.stderr!.on("data", look);
    child.on("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`trainyard ui exited (${code}) before serving:\n${out}`));
    });
  });
  return {
    url,
    child,
    log: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
