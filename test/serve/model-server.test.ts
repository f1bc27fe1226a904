/**
 * The model server against real parts: a Trainyard home (SQLite file, artifact store) with
 * versions produced by a real pipeline run, a real HTTP server on 127.0.0.1:0 and real fetch.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry, promoteAlias } from "../../src/lib/registry/index.js";
import { startModelServer, type ModelServer } from "../../src/serve/index.js";
import { openModelHome, trainAndRegister } from "../registry/model-home.js";
import { loadLinearPredictor } from "./linear-predictor.js";

let ty: Trainyard;
let server: ModelServer;
let url: string;

beforeAll(async () => {
  ty = await openModelHome();
  await trainAndRegister(ty, "lin", 2);
  await trainAndRegister(ty, "lin", 3);
  await promoteAlias(ty, "lin", "production", 1, { actor: "test" });
  ({ server, url } = await startModelServer({
    registry: openRegistry(ty),
    artifactPath: (d) => ty.artifacts.getLocal(d),
    loadPredictor: loadLinearPredictor,
    port: 0,
    logSample: 1,
    maxBodyBytes: 64 * 1024,
  }));
});

afterAll(async () => {
  await server?.close();
  await ty?.close();
});

const predictUrl = (model = "lin", alias = "production") => `${url}/v1/models/${model}/${alias}:predict`;
const post = (body: string, target = predictUrl()) =>
  fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });

describe("predict", () => {
  it("scores rows with the version behind the alias", async () => {
    const res = await post(JSON.stringify({ rows: [{ x: 1 }, { x: 10 }] }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model: "lin",
      version: 1,
      alias: "production",
      predictionId: expect.any(String),
      predictions: [3, 21],
    });
  });

  it("accepts instances as well as rows", async () => {
    const res = await post(JSON.stringify({ instances: [{ x: 0 }] }));
    expect(await res.json()).toMatchObject({ predictions: [1] });
  });

  const bad: Array<[string, string, number, string, string | undefined]> = [
    ["malformed JSON", '{"rows": [{"x": 1}', 400, "INVALID_JSON", undefined],
    ["NaN literal", '{"rows": [{"x": NaN}]}', 400, "INVALID_JSON", undefined],
    ["empty body", "", 400, "EMPTY_BODY", undefined],
    ["a blank body", " \n\t ", 400, "EMPTY_BODY", undefined],
    ["a JSON array body", "[1,2]", 400, "INVALID_BODY", undefined],
    ["missing rows", "{}", 400, "MISSING_ROWS", "rows"],
    ["rows not an array", '{"rows": {"x": 1}}', 400, "INVALID_ROWS", "rows"],
    ["empty rows", '{"rows": []}', 400, "EMPTY_ROWS", "rows"],
    ["a row that is not an object", '{"rows": [{"x": 1}, 5]}', 400, "NOT_AN_OBJECT", "rows[1]"],
    ["an unknown top-level field", '{"rows": [{"x": 1}], "debug": true}', 400, "UNKNOWN_FIELD", "debug"],
    ["rows and instances", '{"rows": [{"x": 1}], "instances": [{"x": 1}]}', 400, "AMBIGUOUS_ROWS", "instances"],
    ["a wrong type", '{"rows": [{"x": "7"}]}', 400, "WRONG_TYPE", "x"],
    ["an extra field", '{"rows": [{"x": 1, "z": 2}]}', 400, "UNKNOWN_FIELD", "z"],
    ["a missing field", '{"rows": [{}]}', 400, "MISSING_FIELD", "x"],
    ["a null value", '{"rows": [{"x": null}]}', 400, "NULL_VALUE", "x"],
    ["an overflowing number", '{"rows": [{"x": 1e999}]}', 400, "NON_FINITE", "x"],
  ];
  for (const [what, body, status, code, field] of bad) {
    it(`rejects ${what} with ${status} ${code}`, async () => {
      const res = await post(body);
      expect(res.status).toBe(status);
      const json = (await res.json()) as { error: { code: string; message: string; field?: string } };
      expect(json.error.code).toBe(code);
      expect(json.error.message).toBeTruthy();
      expect(json.error.field).toBe(field);
      if (field && !field.includes("[")) expect(json.error.message).toContain(field);
    });
  }

  it("names the row of a bad field", async () => {
    const res = await post(JSON.stringify({ rows: [{ x: 1 }, { x: 2 }, { x: true }] }));
    expect(await res.json()).toMatchObject({ error: { code: "WRONG_TYPE", field: "x", row: 2 } });
  });

  it("gives each of many concurrent requests its own answer, a bad one its own error", async () => {
    const bodies = Array.from({ length: 30 }, (_, i) =>
      i === 7 ? { rows: [{ x: 1 }, { x: "no" }] } : { rows: [{ x: i }, { x: i + 0.5 }] },
    );
    const replies = await Promise.all(
      bodies.map(async (b) => {
        const res = await post(JSON.stringify(b));
        return {
          status: res.status,
          body: (await res.json()) as { predictions?: number[]; error?: { row: number; field: string } },
        };
      }),
    );
    replies.forEach((r, i) => {
      if (i === 7) expect(r).toMatchObject({ status: 400, body: { error: { row: 1, field: "x" } } });
      else
        expect(r).toEqual({
          status: 200,
          body: expect.objectContaining({ predictions: [2 * i + 1, 2 * (i + 0.5) + 1] }),
        });
    });
  });

  it("answers 413 to a body over the limit, and keeps serving", async () => {
    const rows = Array.from({ length: 8000 }, (_, i) => ({ x: i }));
    const res = await post(JSON.stringify({ rows }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "BODY_TOO_LARGE" } });
    expect((await post('{"rows":[{"x":1}]}')).status).toBe(200);
  });

  it("answers 404 for an unknown model or alias and 405 for a wrong method", async () => {
    const unknownModel = await post('{"rows":[{"x":1}]}', predictUrl("nope"));
    expect(unknownModel.status).toBe(404);
    expect(await unknownModel.json()).toMatchObject({
      error: { code: "MODEL_NOT_FOUND", hint: expect.stringContaining("lin/production") },
    });
    expect((await post('{"rows":[{"x":1}]}', predictUrl("lin", "staging"))).status).toBe(404);
    const get = await fetch(predictUrl());
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect((await fetch(`${url}/healthz`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
  });

  it("survives garbage on the socket", async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(new URL(url).port), "127.0.0.1", () => sock.write("NOT HTTP AT ALL\r\n\r\n"));
      let data = "";
      sock.on("data", (c) => (data += c.toString()));
      sock.on("end", () => resolve(data));
      sock.on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

describe("operations endpoints", () => {
  it("lists what is served", async () => {
    const res = await fetch(`${url}/v1/models`);
    const body = (await res.json()) as { models: Array<Record<string, unknown>> };
    expect(body.models).toEqual([
      expect.objectContaining({ model: "lin", alias: "production", version: 1, task: "regression", label: "y" }),
    ]);
    const one = await (await fetch(`${url}/v1/models/lin/production`)).json();
    expect(one).toMatchObject({ version: 1, inputFields: [{ name: "x", type: "number" }] });
  });

  it("exposes Prometheus metrics: request counts, latency histogram, version gauge", async () => {
    await post('{"rows":[{"x":1}]}');
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    for (const line of text.trim().split("\n"))
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [0-9.e+-]+)$/);
    expect(text).toMatch(/trainyard_serve_requests_total\{model="lin",alias="production",code="200"\} \d+/);
    expect(text).toMatch(/trainyard_serve_requests_total\{model="lin",alias="production",code="400"\} \d+/);
    expect(text).toContain('trainyard_serve_model_version{model="lin",alias="production"} 1');
    const buckets = [
      ...text.matchAll(/request_duration_seconds_bucket\{model="lin",alias="production",le="([^"]+)"\} (\d+)/g),
    ].map((m) => Number(m[2]));
    expect(buckets.length).toBeGreaterThan(5);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]);
    const count = Number(/request_duration_seconds_count\{model="lin",alias="production"\} (\d+)/.exec(text)![1]);
    expect(buckets[buckets.length - 1]).toBe(count);
  });

  it("writes sampled predictions to the prediction log", async () => {
    await post('{"rows":[{"x":5}]}');
    await new Promise((r) => setTimeout(r, 400));
    const logs = await openRegistry(ty).listPredictionLogs({ model: "lin", alias: "production", limit: 5 });
    expect(logs[0]).toMatchObject({ model: "lin", version: 1, alias: "production", input: [{ x: 5 }], output: [11] });
    expect(logs[0].latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("says healthy at once and ready only when the named aliases are loaded", async () => {
    const other = await startModelServer({
      registry: openRegistry(ty),
      artifactPath: (d) => ty.artifacts.getLocal(d),
      loadPredictor: loadLinearPredictor,
      port: 0,
      targets: [{ model: "lin", alias: "canary" }],
      pollMs: 50,
    });
    try {
      expect((await fetch(`${other.url}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${other.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ ready: false, missing: ["lin/canary"] });
      await promoteAlias(ty, "lin", "canary", 2);
      const deadline = Date.now() + 2000;
      let status = 503;
      while (status !== 200 && Date.now() < deadline) {
        status = (await fetch(`${other.url}/readyz`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 25));
      }
      expect(status).toBe(200);
      expect(
        await (await post('{"rows":[{"x":1}]}', `${other.url}/v1/models/lin/canary:predict`)).json(),
      ).toMatchObject({ version: 2, predictions: [4] });
    } finally {
      await other.server.close();
    }
  });
});
