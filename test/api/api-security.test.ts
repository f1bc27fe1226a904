/**
 * The API's security, each point on a real server: loopback by default (and only loopback names
 * in Host), a token beyond it (generated once and kept in the home, checked on every call and on
 * event streams), a same-origin sign on every POST (no CSRF), read-only mode, body size limits,
 * and no way to read a file outside the home or the UI's folder (`..`, encoded slashes, symlinks).
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiServer, type ApiServer } from "../../src/api/server.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import type { FsArtifactStore } from "../../src/store/fs-artifact-store.js";
import { API_FIXTURE } from "./support.js";

const root = mkdtempSync(join(tmpdir(), "ty-api-sec-"));
const home = join(root, "home");
const secret = join(root, "outside-secret.txt");
let ty: Trainyard;
const servers: ApiServer[] = [];

/** A raw HTTP request (fetch would not let a test choose the Host header). */
function raw(url: string, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }) {
  const u = new URL(url);
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method: opts.method ?? "GET", path: opts.path, headers: opts.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

async function start(opts: Partial<Parameters<typeof startApiServer>[0]> = {}): Promise<ApiServer> {
  const s = await startApiServer({ ty, modules: [API_FIXTURE], port: 0, ...opts });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  writeFileSync(secret, "the secret outside the home\n");
  ty = await Trainyard.open({ home });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await ty.close();
  rmSync(root, { recursive: true, force: true });
});

describe("binding and tokens", () => {
  it("binds 127.0.0.1 by default and answers only requests addressed to a loopback name", async () => {
    const s = await start();
    expect(s.host).toBe("127.0.0.1");
    expect(s.token).toBeUndefined();
    expect((await raw(s.url, { path: "/api/v1", headers: { host: `localhost:${s.port}` } })).status).toBe(200);
    const rebound = await raw(s.url, { path: "/api/v1/runs", headers: { host: `evil.example:${s.port}` } });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error.code).toBe("API_FORBIDDEN");
  });

  it("requires a token beyond loopback: generated once, kept in the home, checked on every call", async () => {
    const s = await start({ host: "127.0.0.2" });
    expect(s.token?.source).toBe("generated");
    const file = join(home, "api-token");
    expect(readFileSync(file, "utf8").trim()).toBe(s.token!.value);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await start({ host: "127.0.0.2" });
    expect(again.token).toMatchObject({ value: s.token!.value, source: "home" });

    const none = await raw(s.url, { path: "/api/v1/runs" });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe("SERVE_TOKEN_REQUIRED");
    const wrong = await raw(s.url, { path: "/api/v1/runs", headers: { authorization: "Bearer nope" } });
    expect(JSON.parse(wrong.body).error.code).toBe("SERVE_TOKEN_INVALID");
    const almost = await raw(s.url, { path: "/api/v1/runs", headers: { authorization: `Bearer ${s.token!.value}x` } });
    expect(almost.status).toBe(401);
    const bearer = await raw(s.url, { path: "/api/v1/runs", headers: { authorization: `Bearer ${s.token!.value}` } });
    expect(bearer.status).toBe(200);

    // A link with ?token= logs a browser in with a cookie its later calls carry.
    const link = await raw(s.url, { path: `/api/v1?token=${s.token!.value}` });
    expect(link.status).toBe(200);
    const cookie = String(link.headers["set-cookie"]).split(";")[0];
    expect(cookie).toBe(`trainyard_token=${s.token!.value}`);
    expect(String(link.headers["set-cookie"])).toMatch(/HttpOnly/i);
    expect((await raw(s.url, { path: "/api/v1/models", headers: { cookie } })).status).toBe(200);

    // Event streams check it too.
    const stream = await raw(s.url, { path: "/api/v1/events" });
    expect(stream.status).toBe(401);
  });

  it("uses a token given as an option, and checks it on the event stream", async () => {
    const s = await start({ host: "127.0.0.2", token: "given-token-123" });
    expect(s.token).toMatchObject({ value: "given-token-123", source: "option" });
    expect((await raw(s.url, { path: "/api/v1", headers: { authorization: "Bearer given-token-123" } })).status).toBe(
      200,
    );
    const controller = new AbortController();
    const res = await fetch(`${s.url}/api/v1/events?token=given-token-123`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    controller.abort();
  });
});

describe("mutations", () => {
  let s: ApiServer;
  beforeAll(async () => {
    s = await start();
  });
  const pause = (headers: Record<string, string>) =>
    raw(s.url, { method: "POST", path: "/api/v1/triggers/api-demo/nightly/pause", headers });

  it("need a same-origin sign: no CSRF from another site", async () => {
    const bare = await pause({});
    expect(bare.status).toBe(403);
    expect(JSON.parse(bare.body).error).toMatchObject({ code: "API_FORBIDDEN" });
    expect((await pause({ origin: "http://evil.example", "x-requested-with": "x" })).status).toBe(403);
    expect((await pause({ "sec-fetch-site": "cross-site", "x-requested-with": "x" })).status).toBe(403);
    expect((await pause({ origin: "null" })).status).toBe(403);
    expect((await pause({ "x-requested-with": "trainyard" })).status).toBe(200);
    expect((await pause({ origin: s.url })).status).toBe(200);
    expect((await pause({ "sec-fetch-site": "same-origin" })).status).toBe(200);
  });

  it("are refused in read-only mode, while reads and plans still answer", async () => {
    const ro = await start({ readOnly: true });
    const headers = { "x-requested-with": "t", "content-type": "application/json" };
    const launch = await raw(ro.url, {
      method: "POST",
      path: "/api/v1/runs",
      headers,
      body: '{"pipeline":"api-demo"}',
    });
    expect(launch.status).toBe(403);
    expect(JSON.parse(launch.body).error.code).toBe("API_READ_ONLY");
    for (const path of [
      "/api/v1/models/m/promote",
      "/api/v1/runs/x/cancel",
      "/api/v1/triggers/api-demo/nightly/pause",
    ]) {
      expect((await raw(ro.url, { method: "POST", path, headers, body: "{}" })).status).toBe(403);
    }
    expect((await raw(ro.url, { path: "/api/v1/runs" })).status).toBe(200);
    const plan = await raw(ro.url, { method: "POST", path: "/api/v1/pipelines/api-demo/plan", headers, body: "{}" });
    expect(plan.status).toBe(200);
  });

  it("limit the request body", async () => {
    const small = await start({ maxBodyBytes: 1024 });
    const body = JSON.stringify({ pipeline: "api-demo", params: { note: "x".repeat(4096) } });
    const headers = { "x-requested-with": "t", "content-type": "application/json" };
    const big = await raw(small.url, { method: "POST", path: "/api/v1/runs", headers, body });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error.code).toBe("API_BODY_TOO_LARGE");
    // Chunked (no Content-Length) is counted as it arrives.
    const chunked = await raw(small.url, {
      method: "POST",
      path: "/api/v1/runs",
      headers: { ...headers, "transfer-encoding": "chunked" },
      body,
    });
    expect(chunked.status).toBe(413);
  });
});

describe("files", () => {
  let s: ApiServer;
  const ui = join(root, "ui");
  const secretText = () => readFileSync(secret, "utf8");

  beforeAll(async () => {
    mkdirSync(join(ui, "assets"), { recursive: true });
    writeFileSync(join(ui, "index.html"), "<!doctype html><title>trainyard</title>");
    writeFileSync(join(ui, "assets", "app.js"), "console.log(1)");
    symlinkSync(secret, join(ui, "assets", "leak.js"));
    s = await start({ uiDir: ui });
  });

  it("serve the UI's files, index.html for deep links, and nothing outside its folder", async () => {
    expect((await raw(s.url, { path: "/assets/app.js" })).body).toBe("console.log(1)");
    const deep = await raw(s.url, { path: "/runs/abc/steps/train" });
    expect(deep.status).toBe(200);
    expect(deep.body).toContain("<title>trainyard</title>");
    const attempts = [
      "/../outside-secret.txt",
      "/assets/../../outside-secret.txt",
      "/%2e%2e/outside-secret.txt",
      "/assets%2f..%2f..%2foutside-secret.txt",
      "/..%5coutside-secret.txt",
      "/assets/leak.js",
      `/${"..%2f".repeat(8)}etc/passwd`,
    ];
    for (const path of attempts) {
      const r = await raw(s.url, { path });
      expect(r.body, path).not.toContain(secretText().trim());
      expect(r.body, path).not.toContain("root:");
    }
  });

  it("look artifacts and reports up by digest only, and never follow a symlink out of the store", async () => {
    for (const path of [
      "/api/v1/artifacts/..%2F..%2Foutside-secret.txt/content",
      "/api/v1/reports/..%2f..%2fetc%2fpasswd",
    ]) {
      const r = await raw(s.url, { path });
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body).error.code).toBe("USAGE");
    }
    expect((await raw(s.url, { path: "/api/v1/artifacts/../../outside-secret.txt/content" })).body).not.toContain(
      secretText().trim(),
    );

    // An artifact record whose object is a symlink to a file outside the home, with that file's true digest.
    const digest = `sha256:${createHash("sha256").update(readFileSync(secret)).digest("hex")}`;
    await ty.metadata.putArtifacts([
      { record: { digest, kind: "file", size: statSync(secret).size, meta: {}, createdAt: Date.now(), inline: false } },
    ]);
    const object = (ty.artifacts as FsArtifactStore).localPath(digest);
    mkdirSync(dirname(object), { recursive: true });
    symlinkSync(secret, object);
    const r = await raw(s.url, { path: `/api/v1/artifacts/${digest}/content` });
    expect(r.body).not.toContain("secret outside");
    expect(r.status).toBe(404);
  });
});
