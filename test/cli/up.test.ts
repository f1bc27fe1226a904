/**
 * `trainyard up` as a real process: the daemon and the model server started by one command. A
 * landed file starts a run while the server answers; one SIGTERM drains both and the process
 * exits 0. A server that cannot start (its port taken) stops the daemon it already started.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DAEMON_FIXTURES, readLedger, waitFor } from "../daemon/support.js";
import { startCli } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-up-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const MODULE = path.join(DAEMON_FIXTURES, "landing.ts");
const FAST = ["--interval", "200", "--lease-ttl", "2000", "--orphan-scan", "500"];

describe("trainyard up", () => {
  it("runs the daemon and the model server together, and one SIGTERM drains both", async () => {
    const home = path.join(root, "home");
    const landing = path.join(root, "landing");
    fs.mkdirSync(landing);
    const up = startCli(["up", MODULE, "--port", "0", ...FAST], home, { env: { LANDING_DIR: landing } });
    let out = "";
    up.child.stdout!.on("data", (d) => (out += d));
    up.child.stderr!.on("data", (d) => (out += d));
    const log = () => out;
    try {
      const address = () => /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const url = await waitFor("the server's address", address, 30_000, log);
      await waitFor("the daemon to lead", () => /\[daemon\] leading/.test(out), 30_000, log);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);

      fs.writeFileSync(path.join(landing, "jan.csv"), "a\n1\n");
      const ledger = await waitFor(
        "the landed file's run",
        async () => {
          const l = await readLedger(home, "landed/new-csv");
          return l.runs.some((r) => r.status === "succeeded") && l;
        },
        60_000,
        log,
      );
      expect(ledger.runs[0].trigger).toBe("sensor:new-csv");
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      up.child.kill("SIGTERM");
    }
    const result = await up.done;
    expect(result.code, out).toBe(0);
    expect(out).toMatch(/\[up\] SIGTERM: draining daemon and serve/);
    expect(out).toMatch(/\[daemon\] daemon stopped/);
    expect(out).toMatch(/\[up\] stopped/);
  }, 120_000);

  it("stops the daemon it started when the server cannot listen", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const home = path.join(root, "home-port");
      const up = startCli(["up", MODULE, "--port", String(port), ...FAST], home, { env: { LANDING_DIR: root } });
      const result = await up.done;
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/could not start every part: draining daemon/);
      expect(result.stderr).toMatch(/daemon stopped/);
      expect(result.stderr).toMatch(/EADDRINUSE|in use/);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 60_000);

  it("rejects an option neither the daemon nor the server takes, before starting anything", async () => {
    const result = await startCli(["up", MODULE, "--port", "0", "--colour", "red"], path.join(root, "home-bad")).done;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option --colour/);
    expect(fs.existsSync(path.join(root, "home-bad", "metadata.db"))).toBe(false);
  });
});
