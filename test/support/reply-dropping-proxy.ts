/**
 * A TCP proxy on loopback in front of a Redis server that loses replies: each chunk of a reply is,
 * with probability p (from a seeded generator, so a failing run can be replayed), swallowed and both
 * sides of its connection cut. The server ran the commands; the client sees a lost connection and,
 * once reconnected, sends its unanswered commands again (ioredis does so by default). The Redis
 * counterpart of answer-dropping-proxy.ts, which knows PostgreSQL's message boundaries; Redis replies
 * need none, since any reply chunk lost is a command run and its answer lost.
 */
import net from "node:net";
import { seededRandom } from "../../src/lib/models/random.js";

export class ReplyDroppingProxy {
  /** Replies swallowed so far. */
  dropped = 0;
  private probability = 0;
  private random = seededRandom(1);
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<ReplyDroppingProxy> {
    let proxy!: ReplyDroppingProxy;
    const server = net.createServer((client) => proxy.connect(client, target));
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    proxy = new ReplyDroppingProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /** Loses each reply chunk with probability `p` (0: none). */
  dropRandomly(p: number, seed = 1): void {
    this.probability = p;
    this.random = seededRandom(seed);
  }

  private connect(client: net.Socket, target: { host: string; port: number }): void {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (!this.probability || this.random.next() >= this.probability) return void client.write(chunk);
      this.dropped++;
      client.destroy();
      upstream.destroy();
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((closed) => this.server.close(() => closed()));
  }
}
