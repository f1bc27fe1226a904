/**
 * A pipeline whose artifacts live in S3 (s3rver on loopback, behind a proxy that counts every
 * request): outputs land in the bucket, a second home with an empty cache reuses them by digest,
 * and a warm cache hydrates an unchanged input without reading a byte from the object store.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Trainyard } from "../../src/engine/trainyard.js";
import { pipeline } from "../../src/index.js";
import { S3ArtifactStore } from "../../src/store/s3-artifact-store.js";
import {
  type CountingProxy,
  type S3Emulator,
  S3RVER_CREDENTIALS,
  startCountingProxy,
  startS3rver,
} from "../support/s3.js";
import { stepOf, tempDir } from "./support.js";

let emulator: S3Emulator;
let proxy: CountingProxy;
let root: string;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

beforeAll(async () => {
  root = tempDir("ty-s3-run-");
  emulator = await startS3rver(path.join(root, "server"));
  proxy = await startCountingProxy(emulator.endpoint);
  // The store finds credentials through the SDK's usual chain, here the environment.
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
});

afterAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = saved.id;
  process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  await proxy?.close();
  await emulator?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** `use` reads param n and the outputs of make (a file) and shape (a directory). */
function build(ran: string[]) {
  const p = pipeline("s3-run", { params: z.object({ seed: z.number().default(1), n: z.number().default(1) }) });
  const make = p.step("make", {
    params: ["seed"],
    run: (ctx) => {
      ran.push("make");
      fs.writeFileSync(path.join(ctx.workdir, "rows.csv"), `x\n${ctx.params.seed}\n${"7,".repeat(50_000)}\n`);
      return ctx.file("rows.csv");
    },
  });
  const shape = p.step("shape", {
    params: ["seed"],
    run: (ctx) => {
      ran.push("shape");
      fs.mkdirSync(path.join(ctx.workdir, "model", "sub"), { recursive: true });
      fs.writeFileSync(path.join(ctx.workdir, "model", "weights.bin"), randomBytes(4096));
      fs.writeFileSync(path.join(ctx.workdir, "model", "sub", "config.json"), `{"seed":${ctx.params.seed}}`);
      return ctx.directory("model");
    },
  });
  p.step("use", {
    params: ["n"],
    inputs: { make, shape },
    run: (ctx, i) => {
      ran.push("use");
      const rows = fs.readFileSync(i.make.path, "utf8");
      const config = fs.readFileSync(path.join(i.shape.path, "sub", "config.json"), "utf8");
      return { bytes: rows.length * ctx.params.n, config };
    },
  });
  return p;
}

async function openHome(name: string, prefix: string): Promise<Trainyard> {
  return Trainyard.open({
    home: path.join(root, name),
    config: {
      metadata: { kind: "sqlite", file: path.join(root, `${prefix}.db`) },
      store: { artifacts: `s3://${emulator.bucket}/${prefix}`, endpoint: proxy.endpoint },
    },
  });
}

/** GETs of object bodies (not listings) the proxy saw since its last reset. */
const objectGets = (log: string[]) => log.filter((url) => url.includes("/objects/")).length;

describe("a run with its artifacts in S3", () => {
  it("stores outputs in the bucket, reuses them from a fresh cache, and hydrates a warm input for free", async () => {
    const prefix = `run-${randomBytes(4).toString("hex")}`;
    const ran: string[] = [];
    const first = await openHome("home-a", prefix);
    expect(first.artifacts.backend).toBe("s3");
    const r1 = await first.run(build(ran));
    expect(r1.status, JSON.stringify(r1)).toBe("succeeded");
    const out1 = (await first.output(r1.runId, "use")) as { bytes: number; config: string };
    expect(out1.config).toBe('{"seed":1}');
    const rows = (await first.output(r1.runId, "make")) as { digest: string };
    const model = (await first.output(r1.runId, "shape")) as { digest: string };
    // The outputs are in the bucket, as seen by a client of its own.
    const inspector = new S3ArtifactStore({
      url: `s3://${emulator.bucket}/${prefix}`,
      endpoint: emulator.endpoint,
      credentials: S3RVER_CREDENTIALS,
      cacheDir: path.join(root, "inspector-cache"),
    });
    expect(await inspector.list()).toEqual(expect.arrayContaining([rows.digest, model.digest]));
    expect((await inspector.stat(model.digest))?.isDirectory).toBe(true);
    await inspector.close();
    await first.close();

    // Another home (another worker's disk): nothing cached locally, every step reused by digest
    // without fetching a byte (a reuse nobody reads downloads nothing).
    const gets: string[] = [];
    const stop = watchGets(proxy, (url) => gets.push(url));
    proxy.reset();
    const second = await openHome("home-b", prefix);
    const r2 = await second.run(build(ran));
    expect(r2.steps.map((s) => [s.step, s.cached])).toEqual([
      ["make", true],
      ["shape", true],
      ["use", true],
    ]);
    expect(ran).toEqual(["make", "shape", "use"]);
    expect(objectGets(gets)).toBe(0);

    // `use` reruns on the cold cache: its inputs are fetched once, and verified.
    proxy.reset();
    const r3 = await second.run(build(ran), { params: { n: 2 } });
    expect(stepOf(r3, "use").cached).toBe(false);
    expect(objectGets(gets)).toBeGreaterThanOrEqual(2);
    expect(fs.existsSync(path.join(root, "home-b", "object-cache", rows.digest))).toBe(true);

    // Warm: an unchanged input is hydrated from the cache, reading no bytes from the store.
    gets.length = 0;
    proxy.reset();
    const r4 = await second.run(build(ran), { params: { n: 3 } });
    expect(stepOf(r4, "use").cached).toBe(false);
    expect(((await second.output(r4.runId, "use")) as { bytes: number }).bytes).toBe(out1.bytes * 3);
    expect(objectGets(gets)).toBe(0);
    expect(proxy.objectBytesServed).toBe(0);
    stop();
    await second.close();
  }, 120_000);
});

/** Calls `onGet` with the URL of every GET the proxy forwards, until the returned function is called. */
function watchGets(p: CountingProxy, onGet: (url: string) => void): () => void {
  const stop = p.onRequest((method, url) => {
    if (method === "GET") onGet(url);
  });
  return () => void stop();
}
