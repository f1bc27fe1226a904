/**
 * The model server's guards against hostile or careless clients, over real sockets: slow headers
 * and idle sockets are cut off, a bearer token gates every route but /healthz, a server refuses
 * to listen beyond loopback without one, and the prediction log stays within its retention.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrainyardError } from "../../src/core/errors.js";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry, promoteAlias } from "../../src/lib/registry/index.js";
import { startModelServer, type ModelServer, type ModelServerOptions } from "../../src/serve/index.js";
import { openModelHome, trainAndRegister } from "../registry/model-home.js";
import { loadLinearPredictor } from "./linear-predictor.js";

const TOKEN = "s3cret-token-0123456789abcdef";
let ty: Trainyard;
const servers: ModelServer[] = [];

beforeAll(async () => {
  ty = await openModelHome();
  await trainAndRegister(ty, "lin", 2);
  await promoteAlias(ty, "lin", "production", 1, { actor: "test" });
});

afterAll(async () => {
  for (const s of servers) await s.close(100);
  await ty?.close();
});

type Started = { url: string; port: number; server: ModelServer };

async function serve(opts: Partial<ModelServerOptions> & { host?: string } = {}): Promise<Started> {
  const started = await startModelServer({
    registry: openRegistry(ty),
    artifactPath: (d) => ty.artifacts.getLocal(d),
    loadPredictor: loadLinearPredictor,
    port: 0,
    ...opts,
  });
  servers.push(started.server);
  return started;
}

/** A raw socket that records what it receives and when the server closed it. */
function rawClient(port: number): Promise<{ sock: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let data = "";
    sock.on("data", (c) => (data += c.toString()));
    sock.on("error", () => undefined);
    const closed = new Promise<void>((r) => sock.on("close", () => r()));
    sock.once("connect", () => resolve({ sock, received: () => data, closed }));
    sock.once("error", reject);
  });
}

/** Resolves true if `p` settles within `ms`, false otherwise: a bound on a wait, not a timing assertion. */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe("timeouts", () => {
  it("disconnects a slowloris client that sends its headers a byte at a time", async () => {
    const { port } = await serve({ headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    const client = await rawClient(port);
    // 400 bytes at one per 100 ms would hold the socket for 40 s if nothing cut it off.
    const request = `GET /healthz HTTP/1.1\r\nhost: x\r\n${"x-slow: ".padEnd(360, "a")}\r\n\r\n`;
    let sent = 0;
    const drip = setInterval(() => {
      if (client.sock.destroyed || sent >= request.length) return clearInterval(drip);
      client.sock.write(request[sent++]);
    }, 100);
    const cut = await within(client.closed, 20_000);
    clearInterval(drip);
    expect(cut).toBe(true);
    expect(sent).toBeLessThan(request.length);
    expect(client.received()).not.toContain("200 OK");
  });

  it("closes a connection that never sends a request", async () => {
    const { port } = await serve({ headersTimeoutMs: 500, requestTimeoutMs: 1000 });
    const client = await rawClient(port);
    expect(await within(client.closed, 20_000)).toBe(true);
  });

  it("closes an idle kept-alive socket after its request was answered", async () => {
    const { port } = await serve({ keepAliveTimeoutMs: 300 });
    const client = await rawClient(port);
    client.sock.write("GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n");
    expect(await within(client.closed, 20_000)).toBe(true);
    expect(client.received()).toMatch(/^HTTP\/1\.1 200/);
  });

  it("closes a socket idle in the middle of a request body", async () => {
    const { port } = await serve({ idleTimeoutMs: 300, headersTimeoutMs: 30_000, requestTimeoutMs: 60_000 });
    const client = await rawClient(port);
    client.sock.write("POST /v1/models/lin/production:predict HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n");
    client.sock.write('{"rows":');
    expect(await within(client.closed, 20_000)).toBe(true);
  });

  it("refuses header and request timeouts that do not fit together", async () => {
    const misfit = serve({ headersTimeoutMs: 5000, requestTimeoutMs: 1000 });
    await expect(misfit).rejects.toMatchObject({ code: "SERVE_OPTIONS_INVALID" });
  });
});

describe("bearer token", () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await serve({ token: TOKEN }));
  });
  const predict = (headers: Record<string, string>) =>
    fetch(`${url}/v1/models/lin/production:predict`, { method: "POST", headers, body: '{"rows":[{"x":1}]}' });
  const bearer = { authorization: `Bearer ${TOKEN}` };

  it("refuses a predict without a token, naming what to send", async () => {
    const res = await predict({});
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    const hint = expect.stringContaining("Authorization: Bearer");
    expect(await res.json()).toMatchObject({ error: { code: "UNAUTHORIZED", hint } });
  });

  it("refuses a wrong token, a token of another scheme and a prefix of the right one", async () => {
    const prefix = TOKEN.slice(0, -1);
    const wrong = ["Bearer wrong-token-0123456789abcdef", `Basic ${TOKEN}`, `Bearer ${prefix}`, `Bearer ${TOKEN}x`];
    for (const header of wrong) {
      const res = await predict({ authorization: header });
      expect(res.status, header).toBe(401);
      await res.body?.cancel();
    }
  });

  it("serves a predict with the right token, on the hot path too", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await predict(bearer);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ predictions: [3] });
    }
    // The predict URL is now a known route: without the token it is still refused.
    expect((await predict({})).status).toBe(401);
  });

  it("keeps /healthz open and every other route closed", async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    for (const path of ["/readyz", "/metrics", "/v1/models", "/v1/models/lin/production", "/nothing"]) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${url}${path}`, { headers: bearer })).status, path).not.toBe(401);
    }
  });

  it("refuses to listen on 0.0.0.0 without a token", async () => {
    const err = await serve({ host: "0.0.0.0" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainyardError);
    expect(err).toMatchObject({ code: "SERVE_TOKEN_REQUIRED", hint: expect.stringContaining("TRAINYARD_SERVE_TOKEN") });
  });

  it("listens on 0.0.0.0 with a token, and refuses a short one", async () => {
    const { port } = await serve({ host: "0.0.0.0", token: TOKEN });
    const res = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    await expect(serve({ token: "short" })).rejects.toMatchObject({ code: "SERVE_TOKEN_INVALID" });
  });
});

describe("prediction log retention", () => {
  const registry = () => openRegistry(ty);
  const count = async () => (await registry().listPredictionLogs({ model: "retention", limit: 1_000_000 })).length;
  const entry = (ts: number, i: number) => ({
    model: "retention",
    version: 1,
    alias: "production",
    ts,
    input: { i },
    output: i,
    latencyMs: 1,
  });

  it("deletes rows older than the age limit while serving, and keeps recent ones", async () => {
    const old = Date.now() - 40 * 86_400_000;
    await registry().appendPredictionLogs(Array.from({ length: 50 }, (_, i) => entry(old + i, i)));
    await registry().appendPredictionLogs(Array.from({ length: 5 }, (_, i) => entry(Date.now(), 100 + i)));
    const { url } = await serve({ logRetention: { maxAgeDays: 30, everyMs: 50, batchRows: 7 } });
    const deadline = Date.now() + 20_000;
    while ((await count()) > 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const left = await registry().listPredictionLogs({ model: "retention", limit: 1000 });
    expect(left.map((e) => (e.input as { i: number }).i).sort((a, b) => a - b)).toEqual([100, 101, 102, 103, 104]);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/trainyard_serve_prediction_log_pruned_total 50/);
  });

  it("keeps at most maxRows rows while requests are logged", async () => {
    const { url } = await serve({ logSample: 1, logRetention: { maxRows: 20, everyMs: 50 } });
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${url}/v1/models/lin/production:predict`, {
        method: "POST",
        body: `{"rows":[{"x":${i}}]}`,
      });
      expect(res.status).toBe(200);
    }
    const total = async () =>
      (await registry().listPredictionLogs({ model: "lin", limit: 1_000_000 })).length + (await count());
    const newest = async () => (await registry().listPredictionLogs({ model: "lin", limit: 1 }))[0]?.input;
    // Done once the last request was written (the logger batches) and the next pass ran after it.
    const deadline = Date.now() + 20_000;
    const settled = async () => JSON.stringify(await newest()) === '[{"x":59}]' && (await total()) <= 20;
    while (!(await settled()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await newest()).toEqual([{ x: 59 }]);
    expect(await total()).toBeLessThanOrEqual(20);
    expect(await total()).toBeGreaterThanOrEqual(15);
  });
});
