/**
 * Network namespaces for cluster tests (root only): each worker process runs in its own
 * namespace, joined to this one by a veth pair, so that it reaches nothing of this machine but
 * the services forwarded to it. A forward listens on the host end of the pair and connects to
 * the service on 127.0.0.1, so services keep listening on loopback only (and PostgreSQL's
 * loopback-only trust rule still applies).
 *
 *   const ns = await createNamespace(1);
 *   const redisPort = await ns.forward(redis.port);      // reach it as `${ns.hostAddress}:${redisPort}`
 *   spawn(...ns.wrap(process.execPath, ["bin/trainyard.js", "worker", ...]));
 */
import { execFileSync } from "node:child_process";
import { createConnection, createServer, type Server } from "node:net";

export interface Namespace {
  name: string;
  /** The host's end of the veth pair, as seen from inside the namespace. */
  hostAddress: string;
  /** The namespace's own address. */
  address: string;
  /** Command and arguments running `cmd args` inside the namespace. */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** Makes 127.0.0.1:`port` reachable from the namespace at hostAddress:`port`. */
  forward(port: number): Promise<number>;
  remove(): Promise<void>;
}

export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });

/**
 * A 10.x.y.0/24 no interface of this machine uses yet, picked at random: test files (and other
 * checkouts on the same machine) create namespaces at the same time, and a subnet two veth pairs
 * share routes one namespace's replies into the other.
 */
function freeSubnet(): string {
  const used = new Set(
    [
      ...ip("-4", "-o", "addr", "show")
        .toString()
        .matchAll(/inet (10\.\d+\.\d+)\.\d+\//g),
    ].map((m) => m[1]),
  );
  for (;;) {
    const net = `10.${200 + Math.floor(Math.random() * 50)}.${1 + Math.floor(Math.random() * 254)}`;
    if (!used.has(net)) return net;
  }
}

/** Namespace `ty-<pid>-<index>` with <free /24>.2, the host end at .1. */
export async function createNamespace(index: number): Promise<Namespace> {
  const tag = `${process.pid % 10_000}-${index}`;
  const name = `ty-${tag}`;
  const hostIf = `tyh${tag}`.slice(0, 15);
  const nsIf = `tyn${tag}`.slice(0, 15);
  const net = freeSubnet();
  const hostAddress = `${net}.1`;
  const address = `${net}.2`;
  const servers: Server[] = [];
  const remove = async () => {
    for (const s of servers) s.close();
    try {
      ip("link", "del", hostIf);
    } catch {
      // gone with the namespace already
    }
    try {
      ip("netns", "del", name);
    } catch {
      // never made
    }
  };
  process.once("exit", () => void remove());
  try {
    ip("netns", "add", name);
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    ip("link", "set", nsIf, "netns", name);
    ip("addr", "add", `${hostAddress}/24`, "dev", hostIf);
    ip("link", "set", hostIf, "up");
    ip("netns", "exec", name, "ip", "addr", "add", `${address}/24`, "dev", nsIf);
    ip("netns", "exec", name, "ip", "link", "set", nsIf, "up");
    ip("netns", "exec", name, "ip", "link", "set", "lo", "up");
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    name,
    hostAddress,
    address,
    wrap: (cmd, args) => ["ip", ["netns", "exec", name, cmd, ...args]],
    forward: (port) =>
      new Promise((resolve, reject) => {
        const server = createServer((client) => {
          const upstream = createConnection({ host: "127.0.0.1", port });
          client.pipe(upstream).pipe(client);
          const end = () => {
            client.destroy();
            upstream.destroy();
          };
          client.on("error", end);
          upstream.on("error", end);
          client.on("close", end);
          upstream.on("close", end);
        });
        server.once("error", reject);
        server.listen(port, hostAddress, () => resolve(port));
        servers.push(server);
      }),
    remove,
  };
}
