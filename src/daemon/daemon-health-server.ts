/**
 * The daemon's probes over HTTP, for an orchestrator such as Kubernetes: `/healthz` answers 200
 * while the daemon's loop goes round (a stuck loop answers 503, so the process is restarted) and
 * `/readyz` answers 200 only while this daemon holds the leader lease (a standby is not ready).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface DaemonProbeTarget {
  readonly leading: boolean;
  readonly lastLoopAt: number;
  readonly holder: string;
}

export interface HealthServerOptions {
  port: number;
  /** @default "0.0.0.0": probes come from the node, not from loopback */
  host?: string;
  /** A loop that has not gone round for this long is stuck. @default 60000 */
  stuckAfterMs?: number;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startDaemonHealthServer(
  daemon: DaemonProbeTarget,
  opts: HealthServerOptions,
): Promise<HealthServer> {
  const stuckAfter = opts.stuckAfterMs ?? 60_000;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const loopAgeMs = Date.now() - daemon.lastLoopAt;
    const body = { holder: daemon.holder, leading: daemon.leading, loopAgeMs };
    let status = 404;
    if (req.method !== "GET" && req.method !== "HEAD") status = 405;
    else if (path === "/healthz") status = loopAgeMs <= stuckAfter ? 200 : 503;
    else if (path === "/readyz") status = daemon.leading && loopAgeMs <= stuckAfter ? 200 : 503;
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(
      status === 404 || status === 405 ? JSON.stringify({ error: "GET /healthz or /readyz" }) : JSON.stringify(body),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
