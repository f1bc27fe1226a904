/**
 * `trainyard daemon --health-port`: /healthz answers 200 while the loop goes round, /readyz only
 * while this daemon leads; a standby on the same home is alive but not ready until the leader stops.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FAST, startDaemon, waitFor, type DaemonProcess } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-health-"));
const started: DaemonProcess[] = [];
afterAll(() => {
  for (const d of started) if (d.child.exitCode === null) d.child.kill("SIGKILL");
  fs.rmSync(root, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function probe(port: number, route: string): Promise<{ status: number; body: any } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${route}`);
    return { status: r.status, body: await r.json() };
  } catch {
    return undefined; // not listening yet
  }
}

describe("trainyard daemon --health-port", () => {
  it("is alive and ready while leading; a standby is alive, not ready, and takes over", async () => {
    const home = path.join(root, "home");
    const [p1, p2] = [await freePort(), await freePort()];
    const leader = startDaemon(home, [...FAST, "--health-port", String(p1)]);
    started.push(leader);
    const ready = await waitFor(
      "the leader ready",
      async () => (await probe(p1, "/readyz"))?.status === 200 && true,
      60_000,
      leader.log,
    );
    expect(ready).toBe(true);
    const alive = await probe(p1, "/healthz");
    expect(alive).toMatchObject({ status: 200, body: { leading: true } });
    expect(alive!.body.loopAgeMs).toBeLessThan(60_000);
    expect((await probe(p1, "/nothing"))?.status).toBe(404);

    const standby = startDaemon(home, [...FAST, "--health-port", String(p2)]);
    started.push(standby);
    await waitFor("the standby alive", async () => (await probe(p2, "/healthz"))?.status === 200, 60_000, standby.log);
    expect(await probe(p2, "/readyz")).toMatchObject({ status: 503, body: { leading: false } });

    leader.child.kill("SIGTERM");
    expect(await leader.exited).toMatchObject({ code: 0 });
    expect(await probe(p1, "/healthz")).toBeUndefined(); // the port closes with the daemon
    await waitFor("the standby to lead", async () => (await probe(p2, "/readyz"))?.status === 200, 60_000, standby.log);
    standby.child.kill("SIGTERM");
    expect(await standby.exited).toMatchObject({ code: 0 });
  }, 120_000);
});
