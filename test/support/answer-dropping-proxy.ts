/**
 * A TCP proxy on loopback in front of a PostgreSQL server that loses answers: once armed with a
 * statement's name, the first request naming it goes through to the server, and when the server's
 * answer is complete (its ReadyForQuery, sent after the commit) the proxy swallows it and cuts the
 * connection. The client sees a lost connection for a statement the server did commit: the one case
 * where sending a statement again could apply it twice. `dropEvery(n)` loses every n-th answer, of
 * any request on any connection; `dropRandomly(p, seed)` each answer with probability p.
 *
 * In front of a Redis server (`start(target, "redis")`), only `dropRandomly` applies: each chunk of a
 * reply is lost with probability p. Redis replies need no boundaries: any reply chunk lost is a
 * command run and its answer lost, and the client (ioredis) sends its unanswered commands again once
 * reconnected.
 */
import net from "node:net";
import { seededRandom } from "../../src/lib/models/random.js";

/** A ReadyForQuery message's header ('Z', length 5): the end of the server's answer to a request. */
const READY_FOR_QUERY = Buffer.from([0x5a, 0, 0, 0, 5]);
/** A Sync message ('S', length 4), which ends an extended-protocol request. */
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

export class AnswerDroppingProxy {
  /** Answers swallowed so far. */
  dropped = 0;
  private armed?: string | Buffer;
  private every = 0;
  private requests = 0;
  private probability = 0;
  private random = seededRandom(1);
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(
    target: { host: string; port: number },
    protocol: "postgres" | "redis" = "postgres",
  ): Promise<AnswerDroppingProxy> {
    let proxy!: AnswerDroppingProxy;
    const server = net.createServer((client) =>
      protocol === "redis" ? proxy.connectRedis(client, target) : proxy.connect(client, target),
    );
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    proxy = new AnswerDroppingProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  /**
   * The next request holding `request` (a prepared statement's name, or simpleQuery's bytes) is
   * committed by the server and its answer lost.
   */
  dropAnswerTo(request: string | Buffer): void {
    this.armed = request;
  }

  /** Loses the answer to every n-th request from now on (0: none), the first after `n - phase` requests. */
  dropEvery(n: number, phase = 0): void {
    this.every = n;
    this.requests = phase;
  }

  /**
   * Loses each answer with probability `p`, drawn from a generator seeded with `seed` (0: none). Unlike
   * `dropEvery`, a sequence of statements sent again from its start is not bound to lose the same one.
   */
  dropRandomly(p: number, seed = 1): void {
    this.probability = p;
    this.random = seededRandom(seed);
  }

  /** The bytes of a simple query message: `simpleQuery("COMMIT")` matches a COMMIT and nothing else. */
  static simpleQuery(sql: string): Buffer {
    const body = Buffer.from(`${sql}\0`);
    const header = Buffer.alloc(5);
    header.write("Q", 0);
    header.writeInt32BE(4 + body.length, 1);
    return Buffer.concat([header, body]);
  }

  /** The connection to the server for `client`, each closing with the other. */
  private upstreamFor(client: net.Socket, target: { host: string; port: number }): net.Socket {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => undefined);
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    return upstream;
  }

  private connectRedis(client: net.Socket, target: { host: string; port: number }): void {
    const upstream = this.upstreamFor(client, target);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (!this.probability || this.random.next() >= this.probability) return void client.write(chunk);
      this.dropped++;
      client.destroy();
    });
  }

  private connect(client: net.Socket, target: { host: string; port: number }): void {
    const upstream = this.upstreamFor(client, target);
    let dropping = false;
    client.on("data", (chunk: Buffer) => {
      if (this.armed && chunk.includes(this.armed)) {
        this.armed = undefined;
        dropping = true;
      }
      // A request ends with a Sync (prepared statements) or is one simple query ('Q').
      const request = chunk.subarray(-5).equals(SYNC) || chunk[0] === 0x51;
      if (this.every && request && ++this.requests % this.every === 0) dropping = true;
      if (this.probability && request && this.random.next() < this.probability) dropping = true;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!dropping) return void client.write(chunk);
      if (!chunk.subarray(-6).subarray(0, 5).equals(READY_FOR_QUERY)) return;
      this.dropped++;
      client.destroy();
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((closed) => this.server.close(() => closed()));
  }
}
