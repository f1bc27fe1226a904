/**
 * Live updates as Server-Sent Events, polled from the metadata store. Every event id is derived
 * from stored state, so a client that reconnects with `Last-Event-ID` gets what it missed and
 * nothing twice, whichever server process answers:
 * - a step's log: the id is the line's offset in the step's log (all attempts, in order);
 * - a run: the id encodes the run's status and each started step's (status, cached, attempts);
 * - the home: the id is a time watermark with the keys of the events sent just before it.
 */
import { createHash } from "node:crypto";
import type { Context } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { isTrainyardError, type TrainyardError } from "../core/errors.js";
import { followPause, stepEnded } from "../engine/run-views.js";
import type { RunRecord, StepRunRecord } from "../store/metadata-store.js";
import type { ApiServices } from "./api-context.js";
import { runNotFound } from "../engine/require-run.js";
import { apiError, RUNS_HINT } from "./api-errors.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "rejected", "interrupted"]);

function lastEventId(c: Context): string | undefined {
  return c.req.header("last-event-id") ?? c.req.query("lastEventId") ?? undefined;
}

/** Sleeps `ms` unless the client went away first; false once it has. */
async function pause(stream: SSEStreamingApi, ms: number): Promise<boolean> {
  if (stream.aborted || stream.closed) return false;
  await stream.sleep(ms);
  return !stream.aborted && !stream.closed;
}

/**
 * The run, once it exists: a run the API just queued has no record until its process starts.
 * Undefined while it is queued (or launched and starting); NOT_FOUND when it is neither.
 */
async function runOrQueued(svc: ApiServices, runId: string): Promise<RunRecord | undefined> {
  const run = await svc.ty.query.run(runId);
  if (run) return run;
  const queued = await svc.ticks.getQueuedRun(runId);
  if (queued && queued.status !== "cancelled") return undefined;
  throw runNotFound(runId, { hint: RUNS_HINT });
}

/** Throws NOT_FOUND unless the run exists or waits in the daemon's queue. */
export async function requireRunOrQueued(svc: ApiServices, runId: string): Promise<void> {
  await runOrQueued(svc, runId);
}

// ---------------------------------------------------------------- a step's log

export interface LogStreamTarget {
  run: string;
  step: string;
  item?: number;
  attempt?: number;
  /** Where to start when the client sends no Last-Event-ID. */
  offset: number;
}

export function streamStepLog(c: Context, svc: ApiServices, t: LogStreamTarget): Response {
  const resumeAfter = lastEventId(c);
  let offset = t.offset;
  if (resumeAfter !== undefined) {
    if (!/^\d+$/.test(resumeAfter))
      throw apiError("USAGE", `Last-Event-ID "${resumeAfter}" is not a log offset`, "reconnect without it");
    offset = Number(resumeAfter) + 1;
  }
  return streamSSE(c, async (stream) => {
    const q = svc.ty.query;
    for (;;) {
      const run = await runOrQueued(svc, t.run);
      // A starting run records its steps as it reaches them: wait for this one, if its pipeline has it.
      let unknown: TrainyardError | undefined;
      const sr =
        run &&
        (await q.stepRun(run.id, t.step, t.item).catch((err) => {
          if (isTrainyardError(err) && run.steps && !run.steps.includes(t.step)) unknown = err;
          return undefined;
        }));
      if (unknown) {
        const { code, message, hint } = unknown;
        const data = { status: "not-found", error: { code, message, hint }, nextOffset: offset };
        await stream.writeSSE({ event: "end", data: JSON.stringify(data) });
        return;
      }
      if (!run || !sr) {
        if (run && TERMINAL.has(run.status)) {
          await stream.writeSSE({ event: "end", data: JSON.stringify({ status: run.status, nextOffset: offset }) });
          return;
        }
        if (!(await pause(stream, svc.pollMs))) return;
        continue;
      }
      // Read the state before the lines: a step seen ended has written every line read after.
      const ended = stepEnded(sr, run);
      const started = performance.now();
      // Once per look, from `offset` on: a long log is not read again from its start for each page.
      for await (const chunk of q.stepLogFrom(t.run, t.step, { item: t.item, attempt: t.attempt, offset })) {
        const { attempt, ts, stream: from, label } = chunk;
        const common = { type: "log", runId: run.id, step: t.step, attempt, ts, stream: from };
        // The chunk's events go out in writes of about 256 KiB, each event as writeSSE formats one.
        let text = "";
        for (const [i, line] of chunk.lines.entries()) {
          const n = chunk.offset + i;
          text += `event: log\ndata: ${JSON.stringify({ ...common, line: label + line, offset: n })}\nid: ${n}\n\n`;
          if (text.length < 256 * 1024) continue;
          await stream.write(text);
          text = "";
        }
        if (text) await stream.write(text);
        if (stream.aborted || stream.closed) return;
        offset = chunk.offset + chunk.lines.length;
      }
      if (ended) {
        await stream.writeSSE({ event: "end", data: JSON.stringify({ status: sr.status, nextOffset: offset }) });
        return;
      }
      if (!(await pause(stream, followPause(svc.pollMs, performance.now() - started)))) return;
    }
  });
}

// ---------------------------------------------------------------- one run

const STATUS_CHAR: Record<string, string> = {
  pending: "p",
  running: "r",
  succeeded: "s",
  failed: "f",
  rejected: "j",
  skipped: "k",
  cancelled: "c",
  interrupted: "i",
  queued: "q",
};

function stepKey(sr: StepRunRecord): string {
  return createHash("sha1").update(sr.stepId).digest("hex").slice(0, 8);
}

function stepToken(sr: StepRunRecord): string {
  return `${STATUS_CHAR[sr.status] ?? "?"}${sr.cached ? "*" : ""}${sr.attempts}`;
}

/** What a client has seen of a run: its status and the token of every step past "pending". */
interface RunCursor {
  status: string;
  steps: Map<string, string>;
}

function encodeRunCursor(cur: RunCursor): string {
  const steps = [...cur.steps].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}${v}`);
  return [`r1`, STATUS_CHAR[cur.status] ?? "-", ...steps].join(".");
}

function decodeRunCursor(id: string): RunCursor {
  const [version, status, ...steps] = id.split(".");
  const byChar = Object.fromEntries(Object.entries(STATUS_CHAR).map(([k, v]) => [v, k]));
  if (
    version !== "r1" ||
    (status !== "-" && !byChar[status]) ||
    !steps.every((s) => /^[0-9a-f]{8}[a-z?]\*?\d+$/.test(s))
  ) {
    throw apiError("USAGE", "Last-Event-ID is not an event id of this run's stream", "reconnect without it");
  }
  return { status: byChar[status] ?? "", steps: new Map(steps.map((s) => [s.slice(0, 8), s.slice(8)])) };
}

export function streamRunEvents(c: Context, svc: ApiServices, runId: string): Response {
  const resumeAfter = lastEventId(c);
  const seen: RunCursor = resumeAfter ? decodeRunCursor(resumeAfter) : { status: "", steps: new Map() };
  return streamSSE(c, async (stream) => {
    const { metadata } = svc.ty;
    for (;;) {
      const run = await runOrQueued(svc, runId);
      if (!run) {
        if (seen.status !== "queued") {
          seen.status = "queued";
          const data = { type: "run", runId, status: "queued" };
          await stream.writeSSE({ event: "run", id: encodeRunCursor(seen), data: JSON.stringify(data) });
        }
        if (!(await pause(stream, svc.pollMs))) return;
        continue;
      }
      const steps = (await metadata.listStepRuns(run.id)).filter((s) => s.itemIndex < 0);
      const changed = steps
        .filter((s) => s.status !== "pending" && seen.steps.get(stepKey(s)) !== stepToken(s))
        .sort((a, b) => (a.finishedAt ?? a.startedAt ?? 0) - (b.finishedAt ?? b.startedAt ?? 0));
      for (const s of changed) {
        seen.steps.set(stepKey(s), stepToken(s));
        await stream.writeSSE({ event: "step", id: encodeRunCursor(seen), data: JSON.stringify(stepEvent(s)) });
      }
      if (seen.status !== run.status) {
        seen.status = run.status;
        await stream.writeSSE({ event: "run", id: encodeRunCursor(seen), data: JSON.stringify(runEvent(run)) });
      }
      if (TERMINAL.has(run.status)) return;
      if (!(await pause(stream, svc.pollMs))) return;
    }
  });
}

function stepEvent(s: StepRunRecord) {
  const { runId, stepId: step, status, cached, attempts, startedAt, finishedAt, durationMs, error } = s;
  const err = error && { code: error.code, message: error.message, hint: error.hint };
  return { type: "step", runId, step, status, cached, attempts, startedAt, finishedAt, durationMs, error: err };
}

function runEvent(r: RunRecord) {
  return {
    type: "run",
    runId: r.id,
    pipeline: r.pipeline,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

// ---------------------------------------------------------------- the whole home

/** Events newer than `t`, plus those at most GRACE before it not in `seen` (a write that committed late). */
interface HomeCursor {
  t: number;
  seen: string[];
}

const GRACE_MS = 2000;

function decodeHomeCursor(id: string): HomeCursor {
  try {
    const c = JSON.parse(Buffer.from(id, "base64url").toString("utf8")) as HomeCursor;
    if (typeof c.t === "number" && Array.isArray(c.seen)) return c;
  } catch {
    /* reported below */
  }
  throw apiError("USAGE", "Last-Event-ID is not an event id of this stream", "reconnect without it");
}

interface HomeEvent {
  key: string;
  at: number;
  event: "run" | "tick";
  data: unknown;
}

async function homeEvents(svc: ApiServices, since: number): Promise<HomeEvent[]> {
  const out: HomeEvent[] = [];
  const runs = await svc.ty.metadata.listRuns({ limit: 50 });
  const running = await svc.ty.metadata.listRuns({ status: "running", limit: 200 });
  for (const r of new Map([...runs, ...running].map((x) => [x.id, x])).values()) {
    const at = r.finishedAt ?? r.startedAt ?? r.createdAt;
    if (at >= since) out.push({ key: `run:${r.id}:${r.status}`, at, event: "run", data: runEvent(r) });
  }
  for (const state of await svc.ticks.listTriggerStates()) {
    if (state.evaluatedAt !== undefined && state.evaluatedAt < since) continue;
    for (const tick of await svc.ticks.listTicks(state.trigger, { limit: 10 })) {
      if (tick.evaluatedAt >= since) {
        out.push({
          key: `tick:${tick.trigger}/${tick.key}`,
          at: tick.evaluatedAt,
          event: "tick",
          data: { type: "tick", tick },
        });
      }
    }
  }
  return out.sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : 1));
}

export function streamHomeEvents(c: Context, svc: ApiServices): Response {
  const resumeAfter = lastEventId(c);
  const cursor: HomeCursor = resumeAfter ? decodeHomeCursor(resumeAfter) : { t: Date.now(), seen: [] };
  return streamSSE(c, async (stream) => {
    const seen = new Map<string, number>(cursor.seen.map((k) => [k, cursor.t]));
    let t = cursor.t;
    // A new client starts from now: what happened before it connected is not news.
    if (!resumeAfter) for (const e of await homeEvents(svc, t - GRACE_MS)) seen.set(e.key, e.at);
    for (;;) {
      for (const e of await homeEvents(svc, t - GRACE_MS)) {
        if (seen.has(e.key)) continue;
        t = Math.max(t, e.at);
        seen.set(e.key, e.at);
        for (const [k, at] of seen) if (at < t - GRACE_MS) seen.delete(k);
        const id = Buffer.from(JSON.stringify({ t, seen: [...seen.keys()] })).toString("base64url");
        await stream.writeSSE({ event: e.event, id, data: JSON.stringify(e.data) });
      }
      if (!(await pause(stream, svc.pollMs))) return;
    }
  });
}
