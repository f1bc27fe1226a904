/**
 * Live updates over Server-Sent Events from a run launched through the API: a step's log lines,
 * run and step state, and the home's stream of runs and ticks. Each stream is dropped midway and
 * resumed with Last-Event-ID: the client ends up with every event once, none lost or repeated.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTickStore } from "../../src/daemon/open-tick-store.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { API_FIXTURE, readEvents, startApi, waitForRun, type ApiClient } from "./support.js";

const home = mkdtempSync(join(tmpdir(), "ty-api-live-"));
let ty: Trainyard;
let api: ApiClient;

beforeAll(async () => {
  ty = await Trainyard.open({ home });
  api = await startApi(ty);
});

afterAll(async () => {
  await api?.server.close();
  await ty?.close();
  rmSync(home, { recursive: true, force: true });
});

describe("live updates", () => {
  it("follows a step's log, and resumes after a dropped connection without losing or repeating a line", async () => {
    const launch = await api.post("launchRun", "/runs", { pipeline: "api-demo", params: { lines: 30, sleepMs: 3000 } });
    const url = `${api.url}/api/v1/runs/${launch.body.runId}/steps/train/logs?follow=true`;
    const { events: before } = await readEvents(url, { stop: (all) => all.length >= 5 });
    // While the run goes on, a step its pipeline does not have is a 404 naming its steps, not a stream
    // that waits for the run's end.
    const misspelled = await api.get("stepLogs", `/runs/${launch.body.runId}/steps/trian/logs?follow=true`);
    expect(misspelled.status).toBe(404);
    expect(misspelled.body.error.message).toContain('has no step "trian" (did you mean "train"?)');
    expect(misspelled.body.error.hint).toMatch(/^its steps: .*\btrain\b/);
    expect(before.map((e) => e.data.line)).toEqual(["epoch 0", "epoch 1", "epoch 2", "epoch 3", "epoch 4"]);
    const last = before[before.length - 1].id;
    expect(last).toBe("4");
    const { events: after, ended } = await readEvents(url, { lastEventId: last, stop: () => false });
    expect(ended).toBe(true);
    expect(after[after.length - 1]).toMatchObject({ event: "end", data: { status: "succeeded", nextOffset: 30 } });
    const lines = [...before, ...after].filter((e) => e.event === "log").map((e) => e.data.line);
    expect(lines).toEqual(Array.from({ length: 30 }, (_, i) => `epoch ${i}`));
    await waitForRun(api, launch.body.runId);
  });

  it("ends a log stream opened on a queued run once the run starts without the step", async () => {
    const runId = "20261208-030000-abcdef";
    const ticks = await openTickStore(ty);
    await ticks.enqueueRuns([
      {
        ...{ runId, trigger: "api", tickKey: runId, pipeline: "api-demo", modulePath: API_FIXTURE, params: {} },
        ...{ priority: 0, createdAt: Date.now(), status: "queued" as const },
      },
    ]);
    await ticks.close();
    const url = `${api.url}/api/v1/runs/${runId}/steps/trian/logs?follow=true`;
    const streamed = readEvents(url, { stop: () => false });
    // The stream waits for the run; once its record says which steps it has, it ends saying why.
    await new Promise((r) => setTimeout(r, 300));
    const run = await ty.run(API_FIXTURE, { runId, params: { lines: 2 } });
    expect(run.status).toBe("succeeded");
    const { events, ended } = await streamed;
    expect(ended).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: "end", data: { status: "not-found", error: { code: "NOT_FOUND" } } });
    expect(events[0].data.error.message).toContain('has no step "trian" (did you mean "train"?)');
  });

  it("streams run and step state, resumable with Last-Event-ID from the state it encodes", async () => {
    const launch = await api.post("launchRun", "/runs", { pipeline: "api-demo", params: { lines: 10, sleepMs: 2500 } });
    const url = `${api.url}/api/v1/runs/${launch.body.runId}/events`;
    const { events: before } = await readEvents(url, {
      stop: (all) => all.some((e) => e.event === "step" && e.data.step === "train" && e.data.status === "running"),
    });
    const { events: after, ended } = await readEvents(url, {
      lastEventId: before[before.length - 1].id,
      stop: () => false,
    });
    expect(ended).toBe(true);
    const all = [...before, ...after];
    const seen = all.map((e) =>
      e.event === "run" ? `run:${e.data.status}` : `${e.data.step}:${e.data.status}:${e.data.attempts}`,
    );
    expect(new Set(seen).size).toBe(seen.length);
    // A running step's attempts count the attempts finished before it.
    expect(seen).toContain("train:running:0");
    expect(seen).toContain("train:succeeded:1");
    expect(after.map((e) => e.data.step ?? "run")).not.toContain("reference");
    expect(all[all.length - 1]).toMatchObject({ event: "run", data: { status: "succeeded" } });
    // Reconnecting with the last id of a finished run brings nothing new.
    const { events: none } = await readEvents(url, { lastEventId: all[all.length - 1].id, stop: () => false });
    expect(none).toEqual([]);
    const bad = await fetch(url, { headers: { "last-event-id": "garbage" } });
    expect(bad.status).toBe(400);
  });

  it("streams the home's run states and ticks, and resumes without repeating them", async () => {
    const url = `${api.url}/api/v1/events`;
    const launched = api.post("launchRun", "/runs", { pipeline: "api-demo", params: { lines: 4 } });
    const { events: before } = await readEvents(url, {
      stop: (all) => all.some((e) => e.event === "run" && e.data.status === "succeeded"),
    });
    const runId = (await launched).body.runId;
    expect(before.filter((e) => e.data.runId === runId).map((e) => e.data.status)).toContain("succeeded");

    const ticks = await openTickStore(ty);
    const now = Date.now();
    const tick = { trigger: "api-demo/nightly", kind: "schedule" as const, scheduledAt: now, evaluatedAt: now + 1 };
    await ticks.recordTick({ ...tick, key: "live-1", status: "skipped", reason: "skipped: paused" });
    await ticks.close();
    const { events: after } = await readEvents(url, {
      lastEventId: before[before.length - 1].id,
      stop: (all) => all.some((e) => e.event === "tick"),
    });
    expect(after.find((e) => e.event === "tick")?.data.tick).toMatchObject({
      key: "live-1",
      reason: "skipped: paused",
    });
    const keys = [...before, ...after].map((e) =>
      e.event === "tick" ? `tick:${e.data.tick.key}` : `${e.data.runId}:${e.data.status}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
  });
});
