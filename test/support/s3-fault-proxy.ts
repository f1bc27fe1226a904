/**
 * An HTTP proxy on loopback in front of an S3 emulator that injects faults into chosen requests:
 * a part upload's connection cut mid-body (the server never sees the request end), held
 * unanswered, or refused with an error status; a ranged GET's answer cut mid-body. Requests go
 * through with their headers unchanged, so their signatures (made for the proxy's host) still
 * hold. `requests` records every request's method, path (query included), range and its
 * payload's signed hash (`x-amz-content-sha256`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export class S3FaultProxy {
  readonly requests: string[] = [];
  /** Cuts the next `times` uploads of part `partNumber` (Infinity: every one). */
  cut = { partNumber: 0, times: 0 };
  /** Takes every upload of this part and never answers it (0: none): the upload stays open. */
  hold = 0;
  /** Cuts the answers to the next `times` GETs from byte `start` ("whole": GETs without a range) after 1 MiB. */
  cutRead: { start: number | "whole"; times: number } = { start: -1, times: 0 };
  /** Answers every upload of part `partNumber` with `status` and an S3 error body. */
  refuse = { partNumber: 0, status: 403 };

  private constructor(
    private readonly server: http.Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<S3FaultProxy> {
    const to = new URL(target);
    let proxy!: S3FaultProxy;
    const server = http.createServer((req, res) => {
      const { range, "x-amz-content-sha256": payload } = req.headers;
      const line = [req.method, req.url, range && `range=${range}`, payload].filter(Boolean).join(" ");
      proxy.requests.push(line);
      const part = new URL(req.url ?? "/", "http://x").searchParams.get("partNumber");
      if (req.method === "PUT" && proxy.refuse.partNumber && Number(part) === proxy.refuse.partNumber) {
        req.resume();
        req.on("end", () => {
          res.writeHead(proxy.refuse.status, { "content-type": "application/xml" });
          res.end("<Error><Code>AccessDenied</Code><Message>refused by the test</Message></Error>");
        });
        return;
      }
      if (req.method === "PUT" && proxy.hold && Number(part) === proxy.hold) {
        req.resume();
        return;
      }
      if (req.method === "PUT" && Number(part) === proxy.cut.partNumber && proxy.cut.times > 0) {
        proxy.cut.times--;
        let seen = 0;
        req.on("data", (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= 1024 * 1024) req.socket.destroy();
        });
        req.on("end", () => req.socket.destroy());
        return;
      }
      const upstream = http.request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          const from = req.headers.range ? Number(/^bytes=(\d+)-/.exec(req.headers.range)?.[1]) : "whole";
          if (req.method === "GET" && from === proxy.cutRead.start && proxy.cutRead.times > 0) {
            proxy.cutRead.times--;
            let sent = 0;
            answer.on("data", (chunk: Buffer) => {
              sent += chunk.length;
              if (sent >= 1024 * 1024) {
                answer.destroy();
                res.socket?.destroy();
              }
            });
          }
          answer.pipe(res);
        },
      );
      upstream.on("error", () => req.socket.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    proxy = new S3FaultProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** Forgets the requests so far and every fault set. */
  reset(): void {
    this.requests.length = 0;
    this.cut = { partNumber: 0, times: 0 };
    this.cutRead = { start: -1, times: 0 };
    this.hold = 0;
    this.refuse = { partNumber: 0, status: 403 };
  }

  /** Requests so far whose method and path match. */
  count(pattern: RegExp): number {
    return this.requests.filter((r) => pattern.test(r)).length;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((closed) => this.server.close(closed));
  }
}
