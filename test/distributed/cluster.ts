/**
 * A cluster on one machine for the distributed executor's tests: Redis, PostgreSQL and a shared
 * artifact store (a directory, or an S3 emulator so that workers share nothing but the network),
 * `trainyard worker` processes with their own homes and module caches (in their own network
 * namespaces when run as root), and orchestrating Trainyards opened in-process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { registerQueueExecutor } from "../../src/distributed/register-queue-executor.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { BIN } from "../cli/support.js";
import { createNamespace, type Namespace } from "../support/netns.js";
import { REPO, tempDir } from "../engine/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { type S3Emulator, startS3rver } from "../support/s3.js";

/** Fast stall detection for tests: a killed worker's task is taken over within about two seconds. */
export const QUEUE_TIMING = { lockMs: 1500, stalledCheckMs: 500, heartbeatMs: 300 };

export interface ClusterWorker {
  id: string;
  /** Its own home (its log files, its module cache). */
  home: string;
  child: ChildProcess;
  /** Its stderr so far (one line per task started and ended). */
  output(): string;
  exited: Promise<number | null>;
}

/** Where the queues live: Redis, or PostgreSQL (BullMQ's PostgreSQL backend, the metadata's server). */
export type QueueStore = "redis" | "postgres";

export interface Cluster {
  /** The queues' Redis (none when the queues live in PostgreSQL). */
  redis?: TestRedis;
  queue: QueueStore;
  postgres: TestPostgres;
  /** A directory under test/fixtures/engine: modules written here resolve "trainyard". */
  dir: string;
  /** The shared artifact store's root (a directory), when the cluster has no S3 emulator. */
  artifacts: string;
  /** The S3 emulator holding the artifacts, with `store: "s3"`. */
  s3?: S3Emulator;
  config: string;
  workers: ClusterWorker[];
  startWorker(
    id: string,
    opts?: { env?: Record<string, string>; queues?: string[]; concurrency?: number; args?: string[] },
  ): Promise<ClusterWorker>;
  /**
   * An orchestrating Trainyard with its own home, on the shared stores and the queue executor (its
   * metadata at `metadataUrl` when given: the same server through a proxy; likewise the queues' store
   * at `queueUrl`).
   */
  orchestrator(opts?: { metadataUrl?: string; queueUrl?: string }): Promise<Trainyard>;
  /** Environment for a CLI orchestrator (`trainyard run --config <config>`). */
  cliEnv(home: string): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * `netns`: each worker in its own network namespace, reaching only Redis, PostgreSQL and the S3
 * emulator (root only). `store`: artifacts in a shared directory or in S3 (s3rver on loopback).
 * `timing`: the queue's lock and heartbeat periods, QUEUE_TIMING unless given.
 * `queue`: the queues in Redis (default) or in PostgreSQL.
 */
export async function startCluster(
  opts: { netns?: boolean; store?: "fs" | "s3"; queue?: QueueStore; timing?: Partial<typeof QUEUE_TIMING> } = {},
): Promise<Cluster> {
  const queueStore = opts.queue ?? "redis";
  registerQueueExecutor();
  const dir = path.join(REPO, "test", "fixtures", "engine", `tmp-cluster-${process.pid}-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  const root = tempDir("ty-cluster-");
  const artifacts = path.join(root, "artifacts");
  const [redis, postgres, s3] = await Promise.all([
    queueStore === "redis" ? startRedis() : undefined,
    startPostgres(),
    opts.store === "s3" ? startS3rver(path.join(root, "s3"), "artifacts") : undefined,
  ]);
  const pgUrl = postgres.url;
  const config = path.join(dir, "trainyard.config.ts");
  const queueAt = redis ? { redis: redis.url } : { postgres: pgUrl };
  const executor = { kind: "queue", ...queueAt, ...QUEUE_TIMING, ...opts.timing };
  const s3Url = "s3://artifacts/cluster";
  const s3Store = s3 ? { kind: "s3" as const, url: s3Url, endpoint: s3.endpoint, forcePathStyle: true } : undefined;
  // Orchestrators in this process get the emulator's keys in their options, child processes in their own
  // environment (the SDK's usual chain): this process's environment stays as other tests see it.
  const fsStore = { kind: "fs" as const, root: artifacts };
  const artifactsConfig = s3 && s3Store ? { ...s3Store, credentials: s3.credentials } : fsStore;
  const configArtifacts = s3Store ?? fsStore;
  const s3Env: Record<string, string> = s3
    ? { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey }
    : {};
  fs.writeFileSync(
    config,
    `export default ${JSON.stringify(
      { metadata: { kind: "postgres", url: pgUrl }, artifacts: configArtifacts, executor },
      null,
      2,
    )};\n`,
  );
  const homes: string[] = [root];
  const namespaces: Namespace[] = [];
  let namespaceCount = 0;
  const workers: ClusterWorker[] = [];
  const cluster: Cluster = {
    redis,
    queue: queueStore,
    postgres,
    dir,
    artifacts,
    s3,
    config,
    workers,
    async startWorker(id, w = {}) {
      const home = path.join(root, `worker-${id}`);
      fs.mkdirSync(home, { recursive: true });
      const args = [BIN, "worker", "--config", config, "--home", home, "--id", id];
      for (const q of w.queues ?? []) args.push("--queue", q);
      if (w.concurrency) args.push("--concurrency", String(w.concurrency));
      args.push(...(w.args ?? []));
      const env = {
        ...process.env,
        NO_COLOR: "1",
        TRAINYARD_CACHE_DIR: path.join(home, "cache"),
        TRAINYARD_HOME: home,
        ...s3Env,
        ...w.env,
      };
      let [cmd, argv] = [process.execPath, args];
      if (opts.netns) {
        const ns = await createNamespace(++namespaceCount);
        namespaces.push(ns);
        const pgPort = Number(new URL(postgres.url).port);
        const ports = [pgPort, ...(redis ? [redis.port] : []), ...(s3 ? [s3.port] : [])];
        await Promise.all(ports.map((port) => ns.forward(port)));
        const pgUrl = postgres.url.replace("127.0.0.1", ns.hostAddress);
        if (redis) args.push("--redis", `redis://${ns.hostAddress}:${redis.port}`);
        else args.push("--postgres", pgUrl);
        args.push("--metadata-url", pgUrl);
        // The store as the namespace reaches it (the environment overrides the config's endpoint).
        if (s3)
          Object.assign(env, {
            TRAINYARD_ARTIFACTS: s3Url,
            TRAINYARD_S3_ENDPOINT: `http://${ns.hostAddress}:${s3.port}`,
          });
        [cmd, argv] = ns.wrap(process.execPath, args);
      }
      const child = spawn(cmd, argv, { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr!.on("data", (d) => (err += d));
      const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
      const worker = { id, home, child, output: () => err, exited };
      workers.push(worker);
      // Ready once it says which queues it takes.
      const deadline = Date.now() + 30_000;
      while (!/ takes /.test(err)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker ${id} did not start:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return worker;
    },
    async orchestrator(o = {}) {
      const home = tempDir("ty-orch-");
      homes.push(home);
      return Trainyard.open({
        home,
        metadata: { kind: "postgres", url: o.metadataUrl ?? postgres.url },
        artifacts: artifactsConfig,
        executor: o.queueUrl ? { ...executor, [redis ? "redis" : "postgres"]: o.queueUrl } : executor,
      });
    },
    cliEnv(home) {
      return { TRAINYARD_HOME: home, TRAINYARD_CACHE_DIR: path.join(home, "cache"), NO_COLOR: "1", ...s3Env };
    },
    async stop() {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.exited));
      await Promise.all([redis?.stop(), postgres.stop(), s3?.stop(), ...namespaces.map((ns) => ns.remove())]);
      for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Every step run of a run with its status and attempts, and the fences' committed results. */
export async function stepRunsOf(ty: Trainyard, runId: string) {
  return ty.metadata.listStepRuns(runId);
}

/** A step on queue `pool` that marks its start, then waits for `release` (or its cancellation). */
export const holdingPipeline = (name: string, pool: string, marks: string, release: string) => `
import { appendFileSync, existsSync } from "node:fs";
import { pipeline } from "trainyard";
const p = pipeline(${JSON.stringify(name)}, { pools: { ${JSON.stringify(pool)}: 1 } });
p.step("hold", {
  pool: ${JSON.stringify(pool)},
  run: async (ctx) => {
    appendFileSync(${JSON.stringify(marks)}, "start\\n");
    while (!existsSync(${JSON.stringify(release)})) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await new Promise((r) => setTimeout(r, 25));
    }
    return 1;
  },
});
export default p;
`;
