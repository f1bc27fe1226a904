/**
 * S3 emulators on loopback for the object-store tests: s3rver as a real child process on a free
 * port, its data in a directory that outlives a restart, and a counting proxy that sees every
 * request any process sends (to prove a warm cache reads nothing).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateMultipartUploadCommand, S3Client } from "@aws-sdk/client-s3";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const S3RVER_BIN = path.join(ROOT, "node_modules", "s3rver", "bin", "s3rver.js");

/** s3rver accepts only its own keys when it checks signatures. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface S3Emulator {
  endpoint: string;
  port: number;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server and starts it again on the same port and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** s3rver with `bucket` made, its objects under `directory`. */
export async function startS3rver(directory: string, bucket = "artifacts"): Promise<S3Emulator> {
  fs.mkdirSync(directory, { recursive: true });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const args = [S3RVER_BIN, "-d", directory, "-a", "127.0.0.1", "-p", String(port), "-s"];
    args.push("--configure-bucket", bucket);
    child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    await waitForPort(port, 15_000, () => (child?.exitCode !== null ? `s3rver exited: ${stderr}` : undefined));
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    await gone;
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket,
    credentials: S3RVER_CREDENTIALS,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}

/**
 * fauxqs, an in-memory S3 emulator on another code base than s3rver (its data does not survive a
 * restart), as a child process bound to loopback, with `bucket` made.
 */
export async function startFauxqs(bucket = "artifacts"): Promise<S3Emulator> {
  const port = await freePort();
  const script = `
    const { buildApp } = await import("fauxqs");
    const app = buildApp({ logger: false });
    await app.listen({ port: ${port}, host: "127.0.0.1" });`;
  let child: ChildProcess | undefined;
  const credentials = { accessKeyId: "test", secretAccessKey: "test" };
  const endpoint = `http://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    await waitForPort(port, 15_000, () => (child?.exitCode !== null ? `fauxqs exited: ${stderr}` : undefined));
    const { CreateBucketCommand } = await import("@aws-sdk/client-s3");
    const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    await gone;
  };
  await start();
  return {
    endpoint,
    port,
    bucket,
    credentials,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}

async function waitForPort(port: number, timeoutMs: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CountingProxy {
  endpoint: string;
  /** Requests seen, by HTTP method. */
  requests: Map<string, number>;
  /** Bytes of response bodies to GETs of artifact objects (keys under `objects/`, not listings). */
  objectBytesServed: number;
  /** Calls `listener` for every request until the returned function is called. */
  onRequest(listener: (method: string, url: string) => void): () => void;
  reset(): void;
  close(): Promise<void>;
}

/** A loopback HTTP proxy in front of `target` that counts every request and the bytes GETs return. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const state = { requests: new Map<string, number>(), objectBytesServed: 0 };
  const listeners = new Set<(method: string, url: string) => void>();
  const server = http.createServer((req, res) => {
    const method = req.method ?? "?";
    state.requests.set(method, (state.requests.get(method) ?? 0) + 1);
    for (const l of listeners) l(method, req.url ?? "");
    const objectGet = method === "GET" && (req.url ?? "").includes("/objects/");
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on("data", (chunk: Buffer) => {
          if (objectGet) state.objectBytesServed += chunk.length;
        });
        up.pipe(res);
      },
    );
    out.on("error", (err) => res.destroy(err));
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get objectBytesServed() {
      return state.objectBytesServed;
    },
    onRequest(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reset() {
      state.requests.clear();
      state.objectBytesServed = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A bare SDK client for `emulator` (no store in between), with the checksum settings emulators need. */
export function rawS3Client(emulator: S3Emulator): S3Client {
  // As the store does: no notice about later SDK versions' Node support in a test's or benchmark's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  return new S3Client({
    endpoint: emulator.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: emulator.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/**
 * An upload in parts opened on `emulator` under `key` and recorded in `uploadsDir` (a store
 * cache's `.uploads`) as a killed process would have left it: its owner is a process that exited.
 */
export async function plantAbandonedUpload(emulator: S3Emulator, uploadsDir: string, key: string): Promise<string> {
  const client = rawS3Client(emulator);
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: emulator.bucket, Key: key }));
  client.destroy();
  const dead = spawnSync("true").pid;
  const owner = { pid: dead, host: os.hostname(), bootId: "", startTicks: 1 };
  fs.mkdirSync(uploadsDir, { recursive: true });
  const record = { owner, bucket: emulator.bucket, key, uploadId: UploadId };
  fs.writeFileSync(path.join(uploadsDir, `${dead}-left-open`), JSON.stringify(record));
  return UploadId!;
}
