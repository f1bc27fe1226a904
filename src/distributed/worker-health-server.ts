/**
 * A worker's probes over HTTP, for an orchestrator such as Kubernetes: `/healthz` answers 200
 * while the worker's event loop keeps time (a loop blocked past `stuckAfterMs` answers 503, so the
 * process is restarted), and `/readyz` answers 200 only while the worker reaches the queues, the
 * metadata store and the object store; its body names each one and what failed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface WorkerProbeTarget {
  /** `<hostname>/<worker id>`. */
  readonly label: string;
  /** Tasks running on this worker now. */
  readonly running: number;
  /** One round trip to each dependency: "ok", or why it failed. */
  readiness(timeoutMs: number): Promise<Record<string, string>>;
}

export interface WorkerHealthServerOptions {
  port: number;
  /** @default "0.0.0.0": probes come from the node, not from loopback */
  host?: string;
  /** An event loop late by this much (in the last ten seconds) is stuck. @default 30000 */
  stuckAfterMs?: number;
  /** Each readiness round trip's time limit. @default 2000 */
  checkTimeoutMs?: number;
}

export interface WorkerHealthServer {
  port: number;
  close(): Promise<void>;
}

const TICK_MS = 250;
/** The loop's lateness is remembered this long, so a probe answered just after a stall still sees it. */
const WINDOW_MS = 10_000;

export async function startWorkerHealthServer(
  target: WorkerProbeTarget,
  opts: WorkerHealthServerOptions,
): Promise<WorkerHealthServer> {
  const stuckAfter = opts.stuckAfterMs ?? 30_000;
  const lag = new LoopLag();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: object) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, { error: "GET /healthz or /readyz" });
    const loopLagMs = lag.worstMs();
    const alive = loopLagMs <= stuckAfter;
    const base = { worker: target.label, running: target.running, loopLagMs };
    if (path === "/healthz") return reply(alive ? 200 : 503, base);
    if (path !== "/readyz") return reply(404, { error: "GET /healthz or /readyz" });
    void target.readiness(opts.checkTimeoutMs ?? 2000).then(
      (checks) => reply(alive && Object.values(checks).every((c) => c === "ok") ? 200 : 503, { ...base, checks }),
      (err: Error) => reply(503, { ...base, error: err.message }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      lag.stop();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How late a steady timer fired, worst over the last WINDOW_MS: a blocked loop fires it late. */
class LoopLag {
  private last = Date.now();
  private samples: Array<{ at: number; lateMs: number }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => {
      const now = Date.now();
      this.samples.push({ at: now, lateMs: Math.max(0, now - this.last - TICK_MS) });
      this.last = now;
      while (this.samples.length && now - this.samples[0].at > WINDOW_MS) this.samples.shift();
    }, TICK_MS);
    this.timer.unref();
  }

  /** Includes the tick due now: a loop stuck at this moment counts before its timer fires. */
  worstMs(): number {
    const pending = Math.max(0, Date.now() - this.last - TICK_MS);
    return this.samples.reduce((worst, s) => Math.max(worst, s.lateMs), pending);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
