/**
 * A throwaway Redis server for tests: Debian's `redis-server` on a free loopback port with its
 * own directory, `noeviction` (a queue must never lose a task to memory pressure) and the
 * append-only file on, as a deployment runs it. `restart()` stops it and starts it again on the
 * same port and directory, so what it had written to its append-only file survives.
 *
 *   const redis = requireTools("redis-server");
 *   redis.describe("...", () => { let r: TestRedis; beforeAll(async () => (r = await startRedis())); ... });
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  host: string;
  port: number;
  /** The server's working directory (append-only file, log). */
  dir: string;
  /** Stops the server (SIGTERM, or SIGKILL with `{ kill: true }`) and starts it again on the same port and dir. */
  restart(opts?: { kill?: boolean; downMs?: number }): Promise<void>;
  /** Stops the server; `start()` brings it back on the same port and dir. */
  halt(opts?: { kill?: boolean }): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers PING with PONG (a fresh TCP connection each try). */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      reply += d.toString();
      // While loading the append-only file Redis answers -LOADING: not ready yet.
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, log: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await pingOnce(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const tail = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
  throw new Error(
    `redis-server on port ${port} did not answer within ${timeoutMs} ms (exit ${child.exitCode})\n${tail}`,
  );
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once("exit", () => r()));
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "ty-redis-"));
  const log = join(dir, "redis.log");
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--logfile",
      log,
      "--save",
      "",
      "--appendonly",
      "yes",
      // Every write reaches the file before the reply: a restart in a test loses nothing acknowledged.
      "--appendfsync",
      "always",
      "--maxmemory-policy",
      "noeviction",
      "--protected-mode",
      "yes",
    ];
    const c = spawn("redis-server", args, { stdio: "ignore" });
    child = c;
    await waitForPing(port, c, log);
  };
  const halt = async (opts: { kill?: boolean } = {}) => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    c.kill(opts.kill ? "SIGKILL" : "SIGTERM");
    await exited(c);
  };
  // A crashed test process must not leave a server behind.
  const onExit = () => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  try {
    await launch();
  } catch (err) {
    process.removeListener("exit", onExit);
    onExit();
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    dir,
    halt,
    start: launch,
    async restart(opts = {}) {
      await halt(opts);
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await launch();
    },
    async stop() {
      await halt();
      process.removeListener("exit", onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
