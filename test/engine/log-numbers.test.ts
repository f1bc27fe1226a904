/**
 * A long log's line numbers (the offsets that `trainyard logs -f`, the API's log stream and the
 * UI's line links use) stay each line's own from the moment it is written. Past the head, where
 * the step's log cap cuts output, the lines kept keep their numbers: while the log is written and
 * in the finished file, on this machine and read from a worker's copy on another. A follower that
 * reads from its offset at each look gets lines once, in order, and reaches the log's end (it used
 * to stop short: the finished file numbered its lines anew, below the follower's offset).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { RunLogs } from "../../src/engine/attempt-log.js";
import type { StepLogChunk } from "../../src/engine/query.js";
import { logFrom, logPage } from "../../src/engine/run-views.js";
import { readStepLog, type StepLogSource } from "../../src/engine/step-log-reader.js";
import type { LogCopies } from "../../src/store/artifact-store.js";
import { FsLogCopies } from "../../src/store/fs-log-copies.js";
import type { LogLine } from "../../src/store/metadata-store.js";
import { tempDir } from "./support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** The smallest step cap: a 32 KiB head, then two tail segments of 16 KiB. */
const LIMITS = { stepBytes: 64 * 1024, tailLines: 10 };
/** Lines of about 40 bytes: about 800 fill the head, 400 a segment. */
const text = (i: number) => `line ${String(i).padStart(6, "0")} ${"x".repeat(26)}`;
const indexOf = (line: string) => Number(/^line (\d+) /.exec(line)?.[1] ?? Number.NaN);
/** A segment's lines reach its file within the writer's flush period (1 s). */
const flushed = () => new Promise((r) => setTimeout(r, 1200));

interface Numbered {
  offset: number;
  line: string;
}

function logOf(src: StepLogSource, runId: string, stepRunId: string): AsyncIterable<StepLogChunk> {
  return (async function* () {
    for await (const run of readStepLog(src, runId, stepRunId)) yield { ...run, label: "" };
  })();
}

/** A follower's look: the lines from `offset` on, numbered. */
async function look(src: StepLogSource, runId: string, stepRunId: string, offset: number): Promise<Numbered[]> {
  const out: Numbered[] = [];
  for await (const chunk of logFrom(logOf(src, runId, stepRunId), offset))
    chunk.lines.forEach((line, i) => out.push({ offset: chunk.offset + i, line }));
  return out;
}

/**
 * Every line numbered as written: the head's `line i` at i, the note where the head ends at H, and a
 * line written past the head at its index + 2 (H + 1 is the note on what was cut).
 */
function expectNumberedAsWritten(lines: Numbered[], head: number) {
  for (const { offset, line } of lines) {
    if (line.startsWith("[trainyard] the first")) expect(offset).toBe(head);
    else if (line.startsWith("[trainyard] output cut here")) expect(offset).toBe(head + 1);
    else expect({ line, offset }).toEqual({ line, offset: indexOf(line) < head ? indexOf(line) : indexOf(line) + 2 });
  }
  const offsets = lines.map((l) => l.offset);
  expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  expect(new Set(offsets).size).toBe(offsets.length);
}

/** Writes 5 bursts of 900 lines, a follower looking after each (once flushed), then once the log is finished. */
async function followWhileWritten(logs: RunLogs, stepRunId: string, read: (offset: number) => Promise<Numbered[]>) {
  const log = logs.open(stepRunId, 1);
  const seen: Numbered[] = [];
  let offset = 0;
  const follow = async () => {
    const got = await read(offset);
    seen.push(...got);
    if (got.length) offset = got[got.length - 1].offset + 1;
  };
  for (let burst = 0; burst < 5; burst++) {
    for (let i = burst * 900; i < (burst + 1) * 900; i++) log.write({ ts: 1, stream: "stdout", line: text(i) });
    await flushed();
    await follow();
  }
  log.close();
  await logs.copied(stepRunId);
  await follow();
  return seen;
}

function records() {
  const lines: Array<LogLine & { attempt: number; id: string }> = [];
  return {
    lines,
    appendLogs: (id: string, attempt: number, l: LogLine[]) => lines.push(...l.map((x) => ({ ...x, attempt, id }))),
  };
}

it("a follower on this machine gets the lines past the head by their own numbers, through to the end", async () => {
  const home = tempDir("ty-log-numbers-");
  dirs.push(home);
  const rec = records();
  const src: StepLogSource = { home, metadata: { getLogs: async () => rec.lines } };
  const logs = new RunLogs(home, "n1", rec, LIMITS);
  const seen = await followWhileWritten(logs, "n1:train", (offset) => look(src, "n1", "n1:train", offset));

  const finished = await look(src, "n1", "n1:train", 0);
  const head = finished.findIndex((l) => l.line.startsWith("[trainyard] the first"));
  expect(head).toBeGreaterThan(500);
  expect(finished[head + 1].line).toMatch(/^\[trainyard\] output cut here: .* lines were not kept/);
  expectNumberedAsWritten(finished, head);
  expectNumberedAsWritten(seen, head);
  // The follower saw the head, the note where it ends, and lines past it as they came, up to the last.
  expect(seen.slice(0, head + 1)).toEqual(finished.slice(0, head + 1));
  expect(seen.at(-1)).toEqual(finished.at(-1));
  expect(indexOf(seen.at(-1)!.line)).toBe(4499);
  // It saw lines the cap cut later (each burst's, while it was kept), and not only the last part.
  expect(seen.length).toBeGreaterThan(finished.length);
  // Pages are numbered alike, and the next page starts after the last line given.
  const page = await logPage(logOf(src, "n1", "n1:train"), head, 5);
  expect(page.lines.map((l) => l.offset)).toEqual(finished.slice(head, head + 5).map((l) => l.offset));
  expect(page.nextOffset).toBe(finished[head + 4].offset + 1);
});

it("a follower on another machine keeps the numbers from a worker's live parts to its whole copy", async () => {
  const [worker, orchestrator] = [tempDir("ty-log-numbers-worker-"), tempDir("ty-log-numbers-orch-")];
  dirs.push(worker, orchestrator);
  const copies: LogCopies = new FsLogCopies(path.join(worker, "copies"));
  const rec = records();
  const src: StepLogSource = {
    home: orchestrator,
    metadata: { getLogs: async () => rec.lines },
    artifacts: { logCopies: copies },
  };
  // Live parts every 200 ms: each look finds the file's head as copied so far.
  const logs = new RunLogs(worker, "n2", rec, LIMITS, copies, { everyMs: 200, snapshotEvery: 16 });
  const seen = await followWhileWritten(logs, "n2:train", (offset) => look(src, "n2", "n2:train", offset));

  const finished = await look(src, "n2", "n2:train", 0);
  const head = finished.findIndex((l) => l.line.startsWith("[trainyard] the first"));
  expect(head).toBeGreaterThan(500);
  expectNumberedAsWritten(finished, head);
  expectNumberedAsWritten(seen, head);
  // The lines past the head reach the other machine with the whole copy: the follower, whose offset was
  // just past the note where the head ends, reads the note on what was cut and the last part, to the end.
  expect(seen).toEqual(finished);
  expect(indexOf(seen.at(-1)!.line)).toBe(4499);
});
