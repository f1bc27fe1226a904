/**
 * Every route of the HTTP API over a real home (one suite, run on SQLite and on PostgreSQL
 * metadata): runs of the fixture pipeline made in this process and launched through the API as
 * child processes, registry versions, a recorded tick and served predictions. Every JSON answer
 * is then validated against the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTES, type RouteId } from "../../src/api/routes.js";
import type { RunResult, Trainyard } from "../../src/engine/trainyard.js";
import { openTickStore } from "../../src/daemon/open-tick-store.js";
import {
  API_FIXTURE,
  EXPERIMENT_FIXTURE,
  openApiViolations,
  readEvents,
  startApi,
  waitFor,
  waitForRun,
  type ApiClient,
} from "./support.js";
import { digestHex } from "../../src/core/digest-format.js";

export interface SuiteHome {
  ty: Trainyard;
  cleanup(): Promise<void>;
}

export function apiSuite(label: string, open: () => Promise<SuiteHome>): void {
  describe(`HTTP API on ${label}`, () => {
    let home: SuiteHome;
    let api: ApiClient;
    let ok: RunResult;
    let failed: RunResult;
    let trainDigest: string;

    beforeAll(async () => {
      home = await open();
      const { ty } = home;
      ok = await ty.run(API_FIXTURE);
      failed = await ty.run(API_FIXTURE, { params: { fail: true }, profile: "drifted" });
      trainDigest = (await ty.metadata.getStepRun(`${ok.runId}:train`))!.outputDigest!;
      const profileDigest = (await ty.metadata.getStepRun(`${ok.runId}:profile`))!.outputDigest!;
      for (const [auc, artifactDigest] of [
        [0.7, trainDigest],
        [0.74, profileDigest],
      ] as const) {
        await ty.registry.registerVersion({
          model: "delays",
          artifactDigest,
          runId: ok.runId,
          metrics: { auc },
          gates: [{ gate: "auc", status: "pass", message: `auc ${auc}` }],
        });
      }
      const ticks = await openTickStore(ty);
      await ticks.recordTick({
        trigger: "api-demo/nightly",
        key: "2026-01-02T08:00:00.000Z",
        kind: "schedule",
        scheduledAt: Date.parse("2026-01-02T08:00:00Z"),
        evaluatedAt: Date.parse("2026-01-02T08:00:01Z"),
        status: "skipped",
        reason: "skipped: overlap (run X still running)",
      });
      await ticks.close();
      api = await startApi(ty);
    }, 180_000);

    afterAll(async () => {
      await api?.server.close();
      await home?.cleanup();
    });

    it("describes itself and its backend", async () => {
      const r = await api.get("serverInfo", "");
      expect(r.body).toMatchObject({ name: "trainyard", apiVersion: "v1", readOnly: false, tokenRequired: false });
      expect(r.body.metadata).toBe(home.ty.metadata.backend);
    });

    it("lists pipelines with their graph, params JSON Schema, plan and runs x steps grid", async () => {
      const list = await api.get("listPipelines", "/pipelines");
      const demo = list.body.pipelines.find((p: { name: string }) => p.name === "api-demo");
      expect(demo).toMatchObject({ source: "module", lastRun: { id: failed.runId, status: "failed" } });

      const graph = (await api.get("pipelineGraph", "/pipelines/api-demo/graph")).body;
      expect(graph.nodes.map((n: { id: string }) => n.id).sort()).toEqual([
        "current",
        "drift",
        "profile",
        "reference",
        "train",
      ]);
      expect(graph.nodes.find((n: { id: string }) => n.id === "drift")).toMatchObject({ guard: true });
      expect(graph.edges).toContainEqual({ from: "current", to: "train", input: "current" });
      // A ranked placement comes with it: every edge goes to a higher rank, no two steps share a place.
      type Ranked = { id: string; rank: number; order: number };
      const place = new Map<string, Ranked>(graph.nodes.map((n: Ranked) => [n.id, n]));
      for (const e of graph.edges as Array<{ from: string; to: string }>) {
        expect(place.get(e.from)!.rank).toBeLessThan(place.get(e.to)!.rank);
      }
      expect(new Set(graph.nodes.map((n: Ranked) => `${n.rank}:${n.order}`)).size).toBe(graph.nodes.length);

      const params = (await api.get("pipelineParams", "/pipelines/api-demo/params")).body;
      expect(params.jsonSchema.properties.sleepMs).toMatchObject({ type: "integer", minimum: 0 });
      expect(params.defaults).toEqual({ shift: 0, fail: false, sleepMs: 0, lines: 3 });
      expect(params.profiles.drifted).toEqual({ shift: 8 });

      const plan = (await api.post("pipelinePlan", "/pipelines/api-demo/plan", { params: { lines: 3 } })).body;
      const actions = Object.fromEntries(plan.steps.map((s: { step: string; action: string }) => [s.step, s.action]));
      expect(actions).toEqual({
        reference: "reuse",
        current: "reuse",
        profile: "reuse",
        drift: "reuse",
        train: "reuse",
      });
      const changed = (await api.post("pipelinePlan", "/pipelines/api-demo/plan", { params: { lines: 4 } })).body;
      const train = changed.steps.find((s: { step: string }) => s.step === "train");
      expect(train.action).toBe("run");
      expect(train.reasons.join(" ")).toContain("lines");

      const grid = (await api.get("pipelineGrid", "/pipelines/api-demo/grid?limit=2")).body;
      expect(grid.runs.map((r: { id: string }) => r.id)).toEqual([failed.runId, ok.runId]);
      const col = grid.steps.indexOf("train");
      expect(grid.runs[0].cells[col]).toMatchObject({ status: "failed" });
      expect(grid.runs[1].cells[col]).toMatchObject({ status: "succeeded", cached: false });

      const unknown = await api.get("pipelineGraph", "/pipelines/nope/graph");
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({ code: "NOT_FOUND" });
      expect(unknown.body.error.hint).toContain("api-demo");
    });

    it("lists runs with filters and cursor pagination, and says what is wrong with a bad query", async () => {
      const all = (await api.get("listRuns", "/runs?pipeline=api-demo")).body.runs.map((r: { id: string }) => r.id);
      expect(all.slice(0, 2)).toEqual([failed.runId, ok.runId]);
      const onlyFailed = (await api.get("listRuns", "/runs?status=failed")).body.runs;
      expect(onlyFailed.map((r: { id: string }) => r.id)).toEqual([failed.runId]);
      const first = (await api.get("listRuns", "/runs?limit=1")).body;
      expect(first.runs).toHaveLength(1);
      const second = (await api.get("listRuns", `/runs?limit=1&cursor=${first.nextCursor}`)).body;
      expect(second.runs[0].id).not.toBe(first.runs[0].id);
      const bad = await api.get("listRuns", "/runs?status=nope");
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: "USAGE", field: "status" });
      const badCursor = await api.get("listRuns", "/runs?cursor=zzz");
      expect(badCursor.status).toBe(400);
      expect(badCursor.body.error.hint).toContain("nextCursor");
    });

    it("answers a run's overview: states of the detail's steps, gate verdicts and the graph in one", async () => {
      const detail = (await api.get("runDetail", `/runs/${failed.runId}`)).body;
      const overview = (await api.get("runOverview", `/runs/${failed.runId}/overview`)).body;
      expect(overview.run).toEqual(detail.run);
      expect(overview.gates).toEqual(detail.gates);
      expect(overview.steps.map((s: { stepId: string; status: string }) => [s.stepId, s.status])).toEqual(
        detail.stepDetails.map((s: { stepId: string; status: string }) => [s.stepId, s.status]),
      );
      const train = overview.steps.find((s: { stepId: string }) => s.stepId === "train");
      expect(train.error.message).toContain("training failed on purpose");
      expect(train).not.toHaveProperty("attemptRecords");
      const graph = (await api.get("pipelineGraph", "/pipelines/api-demo/graph")).body;
      expect(overview.graph).toEqual(graph);

      const live = (await api.get("runOverview", `/runs/${failed.runId}/overview?graph=false`)).body;
      expect(live).not.toHaveProperty("graph");
      expect(live.steps).toEqual(overview.steps);
      const bad = await api.get("runOverview", `/runs/${failed.runId}/overview?graph=maybe`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: "USAGE", field: "graph" });
      expect((await api.get("runOverview", "/runs/no-such-run/overview")).status).toBe(404);
    });

    it("shows a run, its steps, attempts, logs, cache decisions and outputs", async () => {
      const detail = (await api.get("runDetail", `/runs/${failed.runId}`)).body;
      expect(detail.run).toMatchObject({ id: failed.runId, status: "failed", profile: "drifted" });
      const train = detail.stepDetails.find((s: { stepId: string }) => s.stepId === "train");
      expect(train.error.message).toContain("training failed on purpose");
      expect(detail.trigger).toEqual({ kind: "manual", text: "manual" });

      const steps = (await api.get("runSteps", `/runs/${ok.runId}/steps`)).body.steps;
      expect(steps).toHaveLength(5);
      const step = (await api.get("runStep", `/runs/${ok.runId}/steps/train`)).body;
      expect(step).toMatchObject({ stepId: "train", status: "succeeded", cache: { decision: "computed" } });
      const attempts = (await api.get("stepAttempts", `/runs/${ok.runId}/steps/train/attempts`)).body.attempts;
      expect(attempts).toMatchObject([{ attempt: 1, status: "succeeded" }]);

      const logs = (await api.get("stepLogs", `/runs/${ok.runId}/steps/train/logs`)).body;
      expect(logs.lines.map((l: { line: string }) => l.line)).toEqual(["epoch 0", "epoch 1", "epoch 2"]);
      expect(logs).toMatchObject({ nextOffset: 3, done: true });
      const page = (await api.get("stepLogs", `/runs/${ok.runId}/steps/train/logs?offset=1&limit=1`)).body;
      expect(page.lines).toMatchObject([{ line: "epoch 1", offset: 1 }]);
      expect(page.nextOffset).toBe(2);

      const why = (await api.get("stepWhy", `/runs/${failed.runId}/steps/reference/why`)).body;
      expect(why.decision).toBe("cache hit");
      const whyCurrent = (await api.get("stepWhy", `/runs/${failed.runId}/steps/current/why`)).body;
      expect(whyCurrent.reasons.join(" ")).toContain("shift");

      const outputs = (await api.get("runOutputs", `/runs/${ok.runId}/outputs`)).body.outputs;
      expect(outputs.find((o: { step: string }) => o.step === "train")).toMatchObject({
        digest: trainDigest,
        kind: "json",
        value: { auc: 0.71, epochs: 3 },
      });

      const missing = await api.get("runDetail", "/runs/no-such-run");
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ code: "NOT_FOUND", hint: "list runs with `trainyard runs`" });
      expect((await api.get("runStep", `/runs/${ok.runId}/steps/nope`)).status).toBe(404);
    });

    it("launches a run once per Idempotency-Key, as a child process, and refuses bad params", async () => {
      const headers = { "idempotency-key": `launch-${label}` };
      const body = { pipeline: "api-demo", params: { lines: 2 } };
      const first = await api.post("launchRun", "/runs", body, headers);
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ created: true, sameRequest: true, launchedBy: "api" });
      expect(first.body.resolvedParams).toEqual({ shift: 0, fail: false, sleepMs: 0, lines: 2 });
      const again = await api.post("launchRun", "/runs", body, headers);
      expect(again.body).toMatchObject({ runId: first.body.runId, created: false });
      const done = await waitForRun(api, first.body.runId);
      expect(done.run.status).toBe("succeeded");
      const cached = done.stepDetails
        .filter((s: { cached: boolean }) => s.cached)
        .map((s: { stepId: string }) => s.stepId);
      expect(cached).toContain("profile");
      expect(cached).not.toContain("train");
      const runs = (await api.get("listRuns", "/runs?limit=100")).body.runs;
      expect(runs.filter((r: { id: string }) => r.id === first.body.runId)).toHaveLength(1);

      const conflict = await api.post("launchRun", "/runs", { pipeline: "api-demo", params: { lines: 9 } }, headers);
      expect(conflict.status).toBe(409);
      expect(conflict.body.error.code).toBe("IDEMPOTENCY_CONFLICT");
      const bad = await api.post("launchRun", "/runs", { pipeline: "api-demo", params: { lines: "many" } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe("PARAM_INVALID");
      expect(bad.body.error.hint).toBeTruthy();
      const unknown = await api.post("launchRun", "/runs", { pipeline: "../../etc/passwd" });
      expect(unknown.status).toBe(404);
    });

    it("re-runs from failure, resumes a failed run in place, and refuses to resume a succeeded one", async () => {
      const rerun = await api.post("rerunRun", `/runs/${failed.runId}/rerun`);
      expect(rerun.status).toBe(202);
      const again = await waitForRun(api, rerun.body.runId);
      expect(again.run.params).toEqual(failed.runId && { shift: 8, fail: true, sleepMs: 0, lines: 3 });
      const reused = again.stepDetails
        .filter((s: { cached: boolean }) => s.cached)
        .map((s: { stepId: string }) => s.stepId);
      expect(reused).toContain("profile");
      expect(reused).not.toContain("train");

      const resumed = await api.post("resumeRun", `/runs/${failed.runId}/resume`);
      expect(resumed.status).toBe(202);
      expect(resumed.body.action).toBe("resume-launched");
      await waitFor("the resumed attempt", async () => {
        const d = (await api.get(null, `/runs/${failed.runId}`)).body;
        const train = d.stepDetails.find((s: { stepId: string }) => s.stepId === "train");
        return d.run.status === "failed" && train.attempts >= 2 ? d : undefined;
      });
      const refused = await api.post("resumeRun", `/runs/${ok.runId}/resume`);
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe("RUN_NOT_RESUMABLE");
    });

    it("cancels a running run through its owner process", async () => {
      const slow = await api.post("launchRun", "/runs", {
        pipeline: "api-demo",
        params: { sleepMs: 30_000, lines: 300 },
      });
      await waitFor("the slow run to log", async () => {
        const logs = await api.get(null, `/runs/${slow.body.runId}/steps/train/logs`);
        return logs.status === 200 && logs.body.lines.length > 0 ? true : undefined;
      });
      const cancel = await api.post("cancelRun", `/runs/${slow.body.runId}/cancel`);
      expect(cancel.status).toBe(202);
      expect(cancel.body.action).toBe("cancel-requested");
      const ended = await waitForRun(api, slow.body.runId, ["cancelled", "failed", "succeeded"]);
      expect(ended.run.status).toBe("cancelled");
      const late = await api.post("cancelRun", `/runs/${slow.body.runId}/cancel`);
      expect(late.body.action).toBe("already-finished");
    });

    it("shows triggers with next and last ticks, their history, pause/unpause and a preview", async () => {
      const list = (await api.get("listTriggers", "/triggers")).body.triggers;
      const nightly = list.find((t: { trigger: string }) => t.trigger === "api-demo/nightly");
      expect(nightly).toMatchObject({ kind: "schedule", timezone: "America/Chicago", paused: false });
      expect(nightly.nextTick).toBeGreaterThan(Date.now());
      expect(nightly.lastTick).toMatchObject({ status: "skipped", reason: "skipped: overlap (run X still running)" });

      const ticks = (await api.get("triggerTicks", "/triggers/api-demo/nightly/ticks")).body.ticks;
      expect(ticks).toHaveLength(1);
      expect((await api.post("pauseTrigger", "/triggers/api-demo/nightly/pause")).body).toEqual({
        trigger: "api-demo/nightly",
        paused: true,
      });
      const paused = (await api.get("listTriggers", "/triggers")).body.triggers;
      expect(paused.find((t: { trigger: string }) => t.trigger === "api-demo/nightly").paused).toBe(true);
      expect((await api.post("unpauseTrigger", "/triggers/api-demo/nightly/unpause")).body.paused).toBe(false);
      expect((await api.post("pauseTrigger", "/triggers/api-demo/typo/pause")).status).toBe(404);

      const preview = await api.post("previewTrigger", "/triggers/api-demo/nightly/preview", {
        now: "2019-03-11T06:30:00Z",
      });
      // 02:00 in Chicago on the day after the switch to daylight time is 07:00 UTC.
      expect(preview.body.upcoming[0]).toMatchObject({ at: "2019-03-11T07:00:00.000Z" });
      expect(preview.body.request.params).toEqual({ lines: 5 });
      const badTime = await api.post("previewTrigger", "/triggers/api-demo/nightly/preview", { now: "yesterday" });
      expect(badTime.status).toBe(400);
    });

    it("serves artifacts, lineage, values, file bytes and reports by digest", async () => {
      const art = (await api.get("artifact", `/artifacts/${digestHex(trainDigest).slice(0, 10)}`)).body;
      expect(art).toMatchObject({ digest: trainDigest, kind: "json" });
      const lineage = (await api.get("artifactLineage", `/artifacts/${trainDigest}/lineage`)).body;
      expect(lineage.producedBy).toMatchObject({ runId: ok.runId, stepId: "train" });
      expect(lineage.producedBy.inputs.map((i: { name: string }) => i.name)).toContain("current");
      expect((await api.get("artifactValue", `/artifacts/${trainDigest}/value`)).body.value).toEqual({
        auc: 0.71,
        epochs: 3,
      });

      const profileOut = (await home.ty.metadata.getStepRun(`${ok.runId}:profile`))!.outputDigest!;
      const value = (await api.get("artifactValue", `/artifacts/${profileOut}/value`)).body.value;
      const htmlDigest = value.html.digest as string;
      const bytes = await api.get("artifactContent", `/artifacts/${htmlDigest}/content`);
      expect(bytes.status).toBe(200);
      expect(bytes.headers.get("content-type")).toBe("application/octet-stream");
      expect(bytes.body).toContain("<html");
      const report = await api.get("report", `/reports/${profileOut}`);
      expect(report.status).toBe(200);
      expect(report.headers.get("content-type")).toContain("text/html");
      expect(report.headers.get("content-security-policy")).toContain("sandbox");
      expect(report.body).toBe(bytes.body);
      expect((await api.get("artifact", "/artifacts/ffffffffffff")).status).toBe(404);
    });

    it("lists data profiles and drift results and serves one in full", async () => {
      const reports = (await api.get("dataReports", `/data/reports?run=${failed.runId}`)).body.reports;
      expect(reports.map((r: { kind: string }) => r.kind).sort()).toEqual(["drift", "profile"]);
      const drift = reports.find((r: { kind: string }) => r.kind === "drift");
      expect(drift).toMatchObject({ alert: true, step: "drift" });
      const onlyDrift = (await api.get("dataReports", "/data/reports?kind=drift")).body.reports;
      expect(onlyDrift.every((r: { kind: string }) => r.kind === "drift")).toBe(true);
      const full = (await api.get("dataReport", `/data/reports/${failed.runId}/drift/0`)).body;
      const delay = full.report.columns.find((c: { name: string }) => c.name === "delay");
      expect(delay.stats.psi.value).toBeGreaterThan(0.2);
      expect(delay.chart.kind).toBe("histogram");
      expect((await api.get("dataReport", `/data/reports/${failed.runId}/drift/5`)).status).toBe(404);
    });

    it("shows the registry and moves aliases with a reason, recorded in the history", async () => {
      expect((await api.get("listModels", "/models")).body.models).toMatchObject([{ name: "delays", versionCount: 2 }]);
      const promote = await api.post("promote", "/models/delays/promote", {
        version: 1,
        alias: "production",
        reason: "first",
      });
      expect(promote.body.event).toMatchObject({ toVersion: 1, reason: "first" });
      await api.post("promote", "/models/delays/promote", { version: 2, alias: "production", reason: "better auc" });
      const rollback = await api.post("rollback", "/models/delays/rollback", {
        alias: "production",
        reason: "latency",
      });
      expect(rollback.body.event).toMatchObject({ action: "rollback", fromVersion: 2, toVersion: 1, pinned: true });
      const detail = (await api.get("model", "/models/delays")).body;
      expect(detail.pins).toMatchObject([{ alias: "production", version: 1 }]);
      expect(detail.versions.map((v: { metrics: { auc: number } }) => v.metrics.auc)).toEqual([0.74, 0.7]);
      const history = (await api.get("aliasHistory", "/models/delays/aliases/history?alias=production")).body.events;
      expect(history.map((e: { reason: string }) => e.reason)).toEqual(["first", "better auc", "latency"]);
      expect(history[2].actor).toMatch(/^api:/);
      const unpin = await api.post("unpin", "/models/delays/unpin", { alias: "production", reason: "fixed" });
      expect(unpin.body.event).toMatchObject({ action: "unpin", reason: "fixed" });
      const noReason = await api.post("unpin", "/models/delays/unpin", { alias: "production" });
      expect(noReason.status).toBe(400);
      const forced = await api.post("promote", "/models/delays/promote", { version: 2, alias: "staging", force: true });
      expect(forced.status).toBe(400);

      const v = (await api.get("modelVersion", "/models/delays/versions/production")).body;
      expect(v).toMatchObject({ version: 1, aliases: ["production"], gates: [{ gate: "auc", status: "pass" }] });
      const lineage = (await api.get("modelLineage", "/models/delays/versions/1/lineage")).body;
      expect(lineage.artifact.producedBy).toMatchObject({ runId: ok.runId, stepId: "train" });
      expect((await api.get("model", "/models/nope")).status).toBe(404);
    });

    it("serves the prediction log as windows with latency percentiles", async () => {
      const windowMs = 60_000;
      const start = Math.floor(Date.now() / windowMs) * windowMs - 3 * windowMs;
      const latencies = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10];
      await home.ty.registry.appendPredictionLogs(
        latencies.map((latencyMs, i) => ({
          model: "delays",
          version: 1,
          alias: "production",
          ts: start + (i < 4 ? 1000 : windowMs + 1000) + i,
          input: { delay: i },
          output: { p: 0.5 },
          latencyMs,
        })),
      );
      const q = `windowMs=${windowMs}&since=${start}&until=${start + 3 * windowMs}`;
      const series = (await api.get("servingSeries", `/serving/delays/production/series?${q}`)).body;
      expect(series.windows.map((w: { requests: number }) => w.requests)).toEqual([4, 6, 0]);
      // Nearest-rank over each window's latencies, computed here from the rows written above.
      const nearest = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.ceil(p * xs.length) - 1];
      expect(series.windows[0]).toMatchObject({ p50: nearest(latencies.slice(0, 4), 0.5), p99: 9, versions: [1] });
      expect(series.windows[1].p50).toBe(nearest(latencies.slice(4), 0.5));
    });

    it("streams a finished run's state, a step's log and the home's events", async () => {
      const base = `${api.url}/api/v1`;
      const run = await readEvents(`${base}/runs/${ok.runId}/events`, { stop: () => false });
      expect(run.ended).toBe(true);
      const steps = run.events.filter((e) => e.event === "step").map((e) => `${e.data.step}:${e.data.status}`);
      expect(steps.sort()).toEqual(["current", "drift", "profile", "reference", "train"].map((s) => `${s}:succeeded`));
      expect(run.events[run.events.length - 1]).toMatchObject({ event: "run", data: { status: "succeeded" } });

      const log = await readEvents(`${base}/runs/${ok.runId}/steps/train/logs?follow=true&offset=1`, {
        stop: () => false,
      });
      expect(log.events.map((e) => e.data.line ?? e.event)).toEqual(["epoch 1", "epoch 2", "end"]);
      const resumed = await readEvents(`${base}/runs/${ok.runId}/steps/train/logs?follow=true`, {
        lastEventId: "1",
        stop: () => false,
      });
      expect(resumed.events.map((e) => e.data.line ?? e.event)).toEqual(["epoch 2", "end"]);

      const home = await readEvents(`${base}/events`, { stop: () => true });
      expect(home.events).toEqual([]);
      expect((await api.get(null, "/runs/nope/events")).status).toBe(404);
    });

    it("reports the daemon's health", async () => {
      const health = (await api.get("daemonHealth", "/daemon/health")).body;
      expect(health.state).toBe("stopped");
      expect(health.triggers.map((t: { trigger: string }) => t.trigger)).toContain("api-demo/nightly");
    });

    it("answers the workers overview with no queues and a note when no queue executor is configured", async () => {
      const r = await api.get("workers", "/workers");
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ queueExecutor: false, queues: [], problems: [] });
      expect(r.body.note).toMatch(/no queue executor is configured/);
    });

    it(
      "serves tracked metrics, tags, search trials, " + "comparisons and a pipeline's runs with final metrics",
      async () => {
        const slow = await home.ty.run(EXPERIMENT_FIXTURE, { params: { lr: 0.2 } });
        const fast = await home.ty.run(EXPERIMENT_FIXTURE, { params: { lr: 0.5, batch: 64 } });
        // The fixture's curves, computed here: the validation loss falls, then rises with the epoch squared.
        const valLoss = (lr: number) => [0, 1, 2, 3, 4, 5].map((e) => (1 - lr) ** (e + 1) + 0.02 * e * e);
        const expected = valLoss(0.2);
        const bestEpoch = expected.indexOf(Math.min(...expected));

        const all = (await api.get("runMetrics", `/runs/${slow.runId}/metrics`)).body;
        expect(all.runId).toBe(slow.runId);
        const val = all.series.find((x: { name: string }) => x.name === "val_loss");
        expect(val).toMatchObject({ stepId: "train", itemIndex: -1, goal: "min", reused: false });
        expect(val.points.map((x: { step: number }) => x.step)).toEqual([0, 1, 2, 3, 4, 5]);
        val.points.forEach((x: { value: number }, i: number) => expect(x.value).toBeCloseTo(expected[i], 5));
        expect(val.final).toBeCloseTo(expected[5], 5);
        expect(val.best.step).toBe(bestEpoch);
        expect(bestEpoch).toBeLessThan(5);
        expect(all.series.filter((x: { itemIndex: number }) => x.itemIndex >= 0)).toHaveLength(6);
        const only = (await api.get("runMetrics", `/runs/${slow.runId}/metrics?metric=auc&step=search`)).body;
        expect(only.series.map((x: { itemIndex: number }) => x.itemIndex).sort()).toEqual([0, 1, 2, 3, 4, 5]);
        const stepsOnly = (await api.get("runMetrics", `/runs/${slow.runId}/metrics?stepsOnly=true`)).body.series;
        expect(stepsOnly.map((x: { name: string }) => x.name).sort()).toEqual(["accuracy", "loss", "val_loss"]);
        expect((await api.get("runMetrics", "/runs/nope/metrics")).status).toBe(404);

        expect((await api.get("runTags", `/runs/${slow.runId}/tags`)).body).toEqual({
          runId: slow.runId,
          tags: { team: "delays" },
        });

        const searches = (await api.get("runTrials", `/runs/${slow.runId}/trials`)).body.searches;
        expect(searches).toHaveLength(1);
        expect(searches[0]).toMatchObject({ step: "search", goals: { auc: "max" } });
        const depth4 = searches[0].trials.find((t: any) => t.params.depth === 4 && t.params.rate === 0.1);
        expect(depth4.metrics.auc).toBeCloseTo(0.9 - 0.01, 6);
        expect((await api.get("runTrials", `/runs/${ok.runId}/trials`)).body.searches).toEqual([]);

        const cmp = (await api.get("compareRuns", `/compare?runs=${slow.runId},${fast.runId}`)).body;
        expect(cmp.runs.map((r: { id: string }) => r.id)).toEqual([slow.runId, fast.runId]);
        const row = (key: string, measure?: string) =>
          cmp.rows.find((r: { key: string; measure?: string }) => r.key === key && r.measure === measure);
        expect(row("lr")).toMatchObject({ kind: "param", values: [0.2, 0.5], differs: true });
        expect(row("epochs")).toMatchObject({ differs: false });
        const finalVal = [valLoss(0.2)[5], valLoss(0.5)[5]];
        expect(row("train.val_loss", "final")).toMatchObject({ goal: "min", best: finalVal[0] < finalVal[1] ? 0 : 1 });
        // The fixture records each value rounded to 6 places.
        const round6 = (v: number) => Number(v.toFixed(6));
        expect(row("train.val_loss", "final").values).toEqual(finalVal.map(round6));
        const bestVal = [Math.min(...valLoss(0.2)), Math.min(...valLoss(0.5))].map(round6);
        expect(row("train.val_loss", "best")).toMatchObject({ values: bestVal, best: bestVal[0] < bestVal[1] ? 0 : 1 });
        expect(row("search[best].auc", "best")).toMatchObject({ goal: "max", best: 0 });
        const firstSame = cmp.rows.findIndex((r: { differs: boolean }) => !r.differs);
        expect(cmp.rows.slice(firstSame).every((r: { differs: boolean }) => !r.differs)).toBe(true);
        const posted = (await api.post("compareRunList", "/compare", { runs: [slow.runId, fast.runId] })).body;
        expect(posted).toEqual(cmp);
        const one = await api.get("compareRuns", `/compare?runs=${slow.runId}`);
        expect(one.status).toBe(400);
        expect(one.body.error.hint).toContain("runs compare");
        expect((await api.post("compareRunList", "/compare", { runs: [slow.runId] })).status).toBe(400);
        expect((await api.get("compareRuns", `/compare?runs=${slow.runId},missing-run`)).status).toBe(404);

        const page = (await api.get("pipelineRuns", "/pipelines/experiments/runs?limit=1")).body;
        expect(page.runs).toHaveLength(1);
        expect(page.runs[0]).toMatchObject({ id: fast.runId, params: { lr: 0.5, batch: 64 } });
        expect(page.runs[0].metrics["train.val_loss"]).toBeCloseTo(finalVal[1], 5);
        expect(page.goals).toMatchObject({ "train.val_loss": "min", "train.accuracy": "max" });
        expect(Object.keys(page.runs[0].metrics).some((k) => k.startsWith("search"))).toBe(false);
        const next = (await api.get("pipelineRuns", `/pipelines/experiments/runs?limit=1&cursor=${page.nextCursor}`))
          .body;
        expect(next.runs.map((r: { id: string }) => r.id)).toEqual([slow.runId]);
        expect(next.nextCursor).toBeUndefined();
        expect((await api.get("pipelineRuns", "/pipelines/nope/runs")).status).toBe(404);
      },
    );

    it("answers every JSON route as the OpenAPI document says", async () => {
      const doc = await api.get(null, "/openapi.json");
      expect(doc.body.openapi).toBe("3.1.0");
      const jsonRoutes = (Object.keys(ROUTES) as RouteId[]).filter((id) => "response" in ROUTES[id]);
      expect(jsonRoutes.filter((id) => !api.answers.has(id))).toEqual([]);
      expect(openApiViolations(api)).toEqual([]);
    });
  });
}
