/**
 * A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start it with pg_ctl on a
 * free loopback port (and a private Unix socket dir, so it never touches /var/run/postgresql),
 * create one database, and remove everything in `stop()`. Nothing listens beyond 127.0.0.1.
 *
 * PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` OS user.
 * Durability is switched off (fsync, full-page writes): the cluster dies with the test file.
 * initdb runs once per machine and PostgreSQL build: each cluster starts from a copy of its output.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/<db>, trust auth, no password. */
  url: string;
  /** Makes a further empty database on the same server and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Stops the server (`immediate`: as if it crashed, every session cut, recovery from the WAL at
   * start; else a fast shutdown) and starts it again on the same port and data directory.
   */
  restart(opts?: { immediate?: boolean; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

const DATABASE = "trainyard_test";
const isRoot = () => process.getuid?.() === 0;

/** Directory holding initdb and pg_ctl: PATH first, then Debian's versioned directories. */
function binDir(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":"))
    if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(base, v, "bin", "initdb"))) return join(base, v, "bin");
  return undefined;
}

function postgresUid(): { uid: number; gid: number } | undefined {
  const r = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  return r.status === 0 && g.status === 0 ? { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) } : undefined;
}

/** Why a cluster cannot be started here, or undefined when it can. */
export function postgresUnavailableReason(): string | undefined {
  if (process.env.TRAINYARD_SKIP_POSTGRES === "1") return "TRAINYARD_SKIP_POSTGRES=1";
  if (process.platform === "win32") return "PostgreSQL test clusters are not supported on Windows";
  if (!binDir()) return "initdb/pg_ctl not found (install postgresql, e.g. scripts/ensure-system-deps.sh as root)";
  if (isRoot() && !postgresUid()) return "running as root but there is no `postgres` OS user to run the server as";
  return undefined;
}

export function postgresAvailable(): boolean {
  return postgresUnavailableReason() === undefined;
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

/** Runs a PostgreSQL binary, as the postgres user when we are root; throws with its output. */
function runPg(bin: string, args: string[]): void {
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  try {
    execFileSync(cmd, argv, { stdio: "pipe", timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(`${bin} ${args.join(" ")} failed: ${e.stderr?.toString() || e.stdout?.toString() || e.message}`);
  }
}

const INITDB_ARGS = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"];

/**
 * Fills `data` with a fresh cluster: a copy of initdb's output for these binaries, made once and kept
 * in the temp folder (initdb costs over a second of CPU per cluster; a copy of its output a third of that).
 */
function copyInitializedCluster(bin: string, data: string): void {
  const initdb = join(bin, "initdb");
  const { size, mtimeMs } = statSync(initdb);
  const key = createHash("sha256")
    .update(`${initdb}\n${size}\n${mtimeMs}\n${INITDB_ARGS.join(" ")}`)
    .digest("hex");
  const template = join(tmpdir(), `trainyard-pg-template-${process.getuid?.() ?? 0}-${key.slice(0, 16)}`);
  const complete = () =>
    existsSync(join(template, "complete")) && existsSync(join(template, "data", "global", "pg_control"));
  if (!complete()) {
    // A template the temp folder's cleaning thinned out is made again.
    if (existsSync(template)) rmSync(template, { recursive: true, force: true });
    // Made aside and renamed into place, so a concurrent test file never copies a half-written one.
    const staging = mkdtempSync(`${template}.staging-`);
    try {
      if (isRoot()) {
        const owner = postgresUid()!;
        chownSync(staging, owner.uid, owner.gid);
      }
      runPg(initdb, ["-D", join(staging, "data"), ...INITDB_ARGS]);
      writeFileSync(join(staging, "complete"), "");
      renameSync(staging, template);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      if (!complete()) throw err; // not a lost race with another file
    }
  }
  // -a keeps the owner (the postgres user, as root) and the 0700 mode the server insists on.
  execFileSync("cp", ["-a", join(template, "data"), data], { stdio: "pipe" });
}

async function waitForConnections(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * `durable`: the server's own defaults (fsync, synchronous commit, full-page writes) rather than
 * durability off, for a test of what a crash keeps.
 */
export async function startPostgres(opts: { durable?: boolean } = {}): Promise<TestPostgres> {
  const reason = postgresUnavailableReason();
  if (reason) throw new Error(`cannot start PostgreSQL: ${reason}`);
  const bin = binDir()!;
  const root = mkdtempSync(join(tmpdir(), "ty-pg-"));
  const data = join(root, "data");
  const log = join(root, "server.log");
  // The server process must be able to enter the directory mkdtemp made private to root.
  if (isRoot()) {
    const owner = postgresUid()!;
    chownSync(root, owner.uid, owner.gid);
  }
  let started = false;
  const stopServer = () => {
    if (!started) return;
    started = false;
    const args = ["stop", "-D", data, "-m", "immediate", "-w"];
    if (isRoot())
      spawnSync("runuser", ["-u", "postgres", "--", join(bin, "pg_ctl"), ...args], {
        stdio: "ignore",
        timeout: 60_000,
      });
    else spawnSync(join(bin, "pg_ctl"), args, { stdio: "ignore", timeout: 60_000 });
  };
  // A crashed or killed test worker must not leave a server behind.
  const onExit = () => {
    stopServer();
    rmSync(root, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  try {
    copyInitializedCluster(bin, data);
    let port = 0;
    let startOpts = "";
    // A free port can be taken between probing and binding; retry with another one.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const durability = opts.durable ? "" : "-c fsync=off -c synchronous_commit=off -c full_page_writes=off ";
      const serverOpts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${root} ${durability}-c max_connections=50`;
      try {
        runPg(join(bin, "pg_ctl"), ["start", "-D", data, "-l", log, "-w", "-t", "60", "-o", serverOpts]);
        started = true;
        startOpts = serverOpts;
        break;
      } catch (err) {
        if (attempt >= 3)
          throw new Error(
            `${(err as Error).message}\n${existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : ""}`,
          );
      }
    }
    const base = `postgres://postgres@127.0.0.1:${port}`;
    await waitForConnections(`${base}/postgres`, 30_000);
    const createDatabase = async (name: string): Promise<string> => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad test database name ${name}`);
      const admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `${base}/${name}`;
    };
    const url = await createDatabase(DATABASE);
    const restart = async (how: { immediate?: boolean; downMs?: number } = {}) => {
      runPg(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", how.immediate ? "immediate" : "fast", "-w"]);
      if (how.downMs) await new Promise((r) => setTimeout(r, how.downMs));
      runPg(join(bin, "pg_ctl"), ["start", "-D", data, "-l", log, "-w", "-t", "60", "-o", startOpts]);
      await waitForConnections(`${base}/postgres`, 30_000);
    };
    return {
      url,
      createDatabase,
      restart,
      async stop() {
        process.removeListener("exit", onExit);
        onExit();
      },
    };
  } catch (err) {
    process.removeListener("exit", onExit);
    onExit();
    throw err;
  }
}
