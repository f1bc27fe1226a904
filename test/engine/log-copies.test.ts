/**
 * A worker's copies of its long logs (RunLogs with LogCopies): a log the database keeps whole is
 * not copied; a long one's file is copied once its attempt ends, and the note in the database says
 * so; a copy that fails leaves a note naming the machine that still has the file. Read on another
 * machine (readStepLog), the copy gives every line and is kept as that home's file; a store that
 * cannot give it leaves the database's head and tail, with a note saying why. While the worker
 * writes the log, another machine follows it from the copy's live parts, fetching each part once;
 * they are removed when the attempt ends, and a worker that dies leaves them. gc removes the logs
 * of runs it removes, and those of runs no longer recorded once past the grace period.
 */
import fs from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { RunLogs } from "../../src/engine/attempt-log.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { readStepLogLines } from "../../src/engine/step-log-reader.js";
import { stepLogFile } from "../../src/engine/step-log-files.js";
import type { LogCopies } from "../../src/store/artifact-store.js";
import { FsLogCopies } from "../../src/store/fs-log-copies.js";
import type { LogLine } from "../../src/store/metadata-store.js";
import { tempDir, waitFor } from "./support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function records() {
  const lines: Array<LogLine & { attempt: number; id: string }> = [];
  return {
    lines,
    appendLogs: (id: string, attempt: number, l: LogLine[]) => lines.push(...l.map((x) => ({ ...x, attempt, id }))),
  };
}

function write(logs: RunLogs, stepRunId: string, attempt: number, count: number) {
  const log = logs.open(stepRunId, attempt);
  for (let i = 0; i < count; i++) log.write({ ts: 1, stream: "stdout", line: `line ${i}` });
  log.close();
}

it("copies a long log's file once its attempt ends, and not a log the database keeps whole", async () => {
  const home = tempDir("ty-log-copies-");
  dirs.push(home);
  const copies = new FsLogCopies(path.join(home, "copies"));
  const rec = records();
  const logs = new RunLogs(home, "r1", rec, { tailLines: 10 }, copies);
  write(logs, "r1:short", 1, 5);
  write(logs, "r1:long", 1, 100);
  write(logs, "r1:long", 2, 100);
  await logs.copied("r1:short");
  await logs.copied("r1:long");
  expect(await copies.open("r1/short.1.log.gz")).toBeUndefined();
  for (const attempt of [1, 2]) {
    const copy = fs.readFileSync(path.join(home, "copies", "r1", `long.${attempt}.log.gz`));
    expect(copy.equals(fs.readFileSync(stepLogFile(home, "r1", "r1:long", attempt)))).toBe(true);
  }
  const notes = rec.lines.filter((l) => l.stream === "log" && l.line.includes("not kept")).map((l) => l.line);
  expect(notes).toHaveLength(2);
  expect(notes[0]).toMatch(
    /80 lines are not kept in the database; .* has them, and so will its copy in the artifact store$/,
  );
});

it("a copy that fails leaves a note naming the machine that has the file; the attempt is not failed", async () => {
  const home = tempDir("ty-log-copies-");
  dirs.push(home);
  const refusing: LogCopies = {
    put: async () => {
      throw new Error("the bucket refused the upload");
    },
    open: async () => undefined,
    remove: async () => undefined,
    removeDirs: async () => 0,
    dirs: async () => new Map(),
  };
  const rec = records();
  const logs = new RunLogs(home, "r2", rec, { tailLines: 10 }, refusing);
  write(logs, "r2:long", 1, 100);
  await logs.copied("r2:long");
  const last = rec.lines.at(-1)!;
  expect(last.stream).toBe("log");
  expect(last.line).toContain("the log file could not be copied to the artifact store (the bucket refused the upload)");
  expect(last.line).toContain(`only ${hostname()} has it`);
  expect(fs.existsSync(stepLogFile(home, "r2", "r2:long", 1))).toBe(true);
});

it("another machine reads a long log whole from its copy and keeps it; without the store, head and tail", async () => {
  const [worker, orchestrator] = [tempDir("ty-log-worker-"), tempDir("ty-log-orch-")];
  dirs.push(worker, orchestrator);
  const copies = new FsLogCopies(path.join(worker, "copies"));
  const rec = records();
  const logs = new RunLogs(worker, "r3", rec, { tailLines: 10 }, copies);
  write(logs, "r3:long", 1, 100);
  await logs.copied("r3:long");
  const metadata = { getLogs: async () => rec.lines };
  const read = async (logCopies: LogCopies) =>
    (await readStepLogLines({ home: orchestrator, metadata, artifacts: { logCopies } }, "r3", "r3:long")).map(
      (l) => l.line,
    );
  const unreachable: LogCopies = {
    put: async () => undefined,
    open: async () => {
      throw new Error("could not reach the bucket");
    },
    remove: async () => undefined,
    removeDirs: async () => 0,
    dirs: async () => new Map(),
  };
  const partial = await read(unreachable);
  // The note, the head, the note on the lines not kept, the tail (the worker's note on its file is left out).
  expect(partial).toHaveLength(1 + 10 + 1 + 10);
  expect(partial[0]).toBe(
    "[trainyard] the copy r3/long.1.log.gz in the artifact store could not be read: could not reach the bucket",
  );
  expect(partial.slice(1, 3)).toEqual(["line 0", "line 1"]);
  expect(partial.at(-1)).toBe("line 99");
  expect(fs.existsSync(stepLogFile(orchestrator, "r3", "r3:long", 1))).toBe(false);
  expect(await read(copies)).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i}`));
  // Kept in this home: read again with the store unreachable, every line is still there.
  expect(fs.existsSync(stepLogFile(orchestrator, "r3", "r3:long", 1))).toBe(true);
  expect(await read(unreachable)).toHaveLength(100);
});

it("another machine follows a long log from its live copy as a worker writes it; the parts go at its end", async () => {
  const [worker, orchestrator] = [tempDir("ty-log-worker-"), tempDir("ty-log-orch-")];
  dirs.push(worker, orchestrator);
  const store = new FsLogCopies(path.join(worker, "copies"));
  const opened: string[] = [];
  const copies: LogCopies = { ...bind(store), open: (name) => (opened.push(name), store.open(name)) };
  const rec = records();
  const logs = new RunLogs(worker, "r4", rec, { tailLines: 10 }, copies);
  const log = logs.open("r4:train", 1);
  const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `epoch ${from + i}`);
  for (const line of lines(0, 1000)) log.write({ ts: 1, stream: "stdout", line });
  const metadata = { getLogs: async (id: string) => rec.lines.filter((l) => l.id === id) };
  const read = async () =>
    (await readStepLogLines({ home: orchestrator, metadata, artifacts: { logCopies: copies } }, "r4", "r4:train")).map(
      (l) => l.line,
    );
  const livePart = (offset: number) => `r4/train.1.log.gz.live-${offset}`;
  // Before the first part is copied (every 2 s), the database's head: no note in the way.
  expect(await read()).toEqual(lines(0, 10));
  await waitFor(async () => (await read()).length === 1000, "the first live part");
  expect(await read()).toEqual(lines(0, 1000));
  const firstPart = fs.statSync(path.join(worker, "copies", livePart(0))).size;
  // More lines: the next read fetches the new part only (and tries for the one after it).
  for (const line of lines(1000, 1500)) log.write({ ts: 2, stream: "stderr", line });
  await waitFor(async () => (await read()).length === 1500, "the next live part");
  opened.length = 0;
  expect(await read()).toEqual(lines(0, 1500));
  expect(opened).toEqual([expect.stringMatching(/\.live-\d+$/)]);
  expect(opened[0]).not.toBe(livePart(0));
  expect(fs.existsSync(`${stepLogFile(orchestrator, "r4", "r4:train", 1)}.live-0`)).toBe(true);
  expect(fs.statSync(`${stepLogFile(orchestrator, "r4", "r4:train", 1)}.live-0`).size).toBe(firstPart);
  // The attempt ends: the whole copy is read, and no live part is left in the store or this home.
  log.write({ ts: 3, stream: "stdout", line: "done" });
  log.close();
  await logs.copied("r4:train");
  expect(fs.readdirSync(path.join(worker, "copies", "r4"))).toEqual(["train.1.log.gz"]);
  expect(await read()).toEqual([...lines(0, 1500), "done"]);
  expect(fs.readdirSync(path.dirname(stepLogFile(orchestrator, "r4", "r4:train", 1)))).toEqual(["train.1.log.gz"]);
  // A log that outgrew the head but not the tail is whole in the database: read there, parts gone.
  const short = logs.open("r4:short", 1);
  for (const line of lines(0, 15)) short.write({ ts: 1, stream: "stdout", line });
  await waitFor(() => fs.existsSync(path.join(worker, "copies", "r4", "short.1.log.gz.live-0")), "a live part");
  short.close();
  await logs.copied("r4:short");
  opened.length = 0;
  const read2 = await readStepLogLines(
    { home: orchestrator, metadata, artifacts: { logCopies: copies } },
    "r4",
    "r4:short",
  );
  expect(read2.map((l) => l.line)).toEqual(lines(0, 15));
  expect(opened).toEqual([]);
  expect(fs.readdirSync(path.join(worker, "copies", "r4"))).toEqual(["train.1.log.gz"]);
});

it("the live parts a dead worker left are read; a store that fails leaves what was kept and a note", async () => {
  const [worker, orchestrator] = [tempDir("ty-log-worker-"), tempDir("ty-log-orch-")];
  dirs.push(worker, orchestrator);
  const store = new FsLogCopies(path.join(worker, "copies"));
  const rec = records();
  const logs = new RunLogs(worker, "r5", rec, { tailLines: 10 }, store);
  const log = logs.open("r5:train", 1);
  for (let i = 0; i < 500; i++) log.write({ ts: 1, stream: "stdout", line: `step ${i}` });
  await waitFor(() => fs.existsSync(path.join(worker, "copies", "r5", "train.1.log.gz.live-0")), "a live part");
  // Nothing more comes (as if the worker died, its home with it): the reader has only the store's parts.
  const metadata = { getLogs: async () => rec.lines };
  let fail = false;
  const copies: LogCopies = {
    ...bind(store),
    open: async (name) => {
      if (fail) throw new Error("the bucket went away");
      return store.open(name);
    },
  };
  const read = async () =>
    (await readStepLogLines({ home: orchestrator, metadata, artifacts: { logCopies: copies } }, "r5", "r5:train")).map(
      (l) => l.line,
    );
  const all = Array.from({ length: 500 }, (_, i) => `step ${i}`);
  expect(await read()).toEqual(all);
  fail = true;
  // The parts this home kept still read; the store's failure is a note after them.
  expect(await read()).toEqual([
    ...all,
    "[trainyard] the live copy of r5/train.1.log.gz in the artifact store could not be read: the bucket went away",
  ]);
  // The whole copy is written after the close: the directories are removed once it is.
  log.close();
  await logs.copied("r5:train");
});

it("a live part stored though its upload failed (answer lost) is sent again as it was: no reader stalls", async () => {
  const [worker, orchestrator] = [tempDir("ty-log-worker-"), tempDir("ty-log-orch-")];
  dirs.push(worker, orchestrator);
  const store = new FsLogCopies(path.join(worker, "copies"));
  let lost = false;
  const copies: LogCopies = {
    ...bind(store),
    put: async (name, from) => {
      await store.put(name, from);
      if (lost || !name.includes(".live-")) return;
      lost = true;
      throw new Error("the answer was lost");
    },
  };
  const rec = records();
  const logs = new RunLogs(worker, "r6", rec, { tailLines: 10 }, copies);
  const log = logs.open("r6:train", 1);
  const metadata = { getLogs: async () => rec.lines };
  const read = async () =>
    (await readStepLogLines({ home: orchestrator, metadata, artifacts: { logCopies: copies } }, "r6", "r6:train")).map(
      (l) => l.line,
    );
  const note = "[trainyard] the log file could not be copied to the artifact store as it grew (the answer was lost)";
  for (let i = 0; i < 500; i++) log.write({ ts: 1, stream: "stdout", line: `step ${i}` });
  // The reader keeps the part the failed upload stored.
  await waitFor(async () => (await read()).length === 501, "the part stored without an answer");
  for (let i = 500; i < 1000; i++) log.write({ ts: 1, stream: "stdout", line: `step ${i}` });
  const lines = await waitFor(async () => ((await read()).length === 1001 ? read() : undefined), "the next part");
  expect(lines.slice(0, 1000)).toEqual(Array.from({ length: 1000 }, (_, i) => `step ${i}`));
  expect(lines[1000]).toBe(`${note}; trying again`);
  log.close();
  await logs.copied("r6:train");
});

it("a reader that comes late starts from the latest snapshot, not from every part since the start", async () => {
  const [worker, late] = [tempDir("ty-log-worker-"), tempDir("ty-log-late-")];
  dirs.push(worker, late);
  const store = new FsLogCopies(path.join(worker, "copies"));
  const opened: string[] = [];
  const copies: LogCopies = { ...bind(store), open: (name) => (opened.push(name), store.open(name)) };
  const rec = records();
  // A part every 50 ms when the file grew (it does once a second), a snapshot every 3 parts.
  const logs = new RunLogs(worker, "r7", rec, { tailLines: 10 }, copies, { everyMs: 50, snapshotEvery: 3 });
  const log = logs.open("r7:train", 1);
  const dir = path.join(worker, "copies", "r7");
  const parts = () => fs.readdirSync(dir).filter((n) => /\.live-\d+$/.test(n));
  let written = 0;
  for (let batch = 0; batch < 5; batch++) {
    for (let i = 0; i < 100; i++) log.write({ ts: 1, stream: "stdout", line: `epoch ${written++}` });
    await waitFor(() => fs.existsSync(dir) && parts().length > batch, `part ${batch + 1}`);
  }
  expect(parts()).toHaveLength(5);
  expect(fs.existsSync(path.join(dir, "train.1.log.gz.live"))).toBe(true);
  const metadata = { getLogs: async () => rec.lines };
  const lines = await readStepLogLines({ home: late, metadata, artifacts: { logCopies: copies } }, "r7", "r7:train");
  expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 500 }, (_, i) => `epoch ${i}`));
  // The snapshot (three parts' worth), then the two parts after it, then a look for the next.
  const offsets = parts().map((n) => Number(n.slice(n.lastIndexOf("-") + 1)));
  const afterSnapshot = offsets.sort((a, b) => a - b).slice(3);
  expect(opened).toEqual([
    "r7/train.1.log.gz.live",
    ...afterSnapshot.map((o) => `r7/train.1.log.gz.live-${o}`),
    expect.stringMatching(/^r7\/train\.1\.log\.gz\.live-\d+$/),
  ]);
  log.close();
  await logs.copied("r7:train");
  expect(fs.readdirSync(dir)).toEqual(["train.1.log.gz"]);
});

/** The methods of a LogCopies, bound to it (to spread into a wrapper). */
function bind(copies: LogCopies): LogCopies {
  return {
    put: (name, from) => copies.put(name, from),
    open: (name) => copies.open(name),
    remove: (names) => copies.remove(names),
    removeDirs: (d) => copies.removeDirs(d),
    dirs: () => copies.dirs(),
  };
}

it("gc removes the logs of runs no longer recorded once past the grace period, in the home and the store", async () => {
  const home = tempDir("ty-log-gc-");
  dirs.push(home);
  const ty = await Trainyard.open({ home });
  try {
    const p = pipeline("talkative");
    p.step("talk", {
      run: (ctx) => {
        for (let i = 0; i < 300; i++) ctx.log(`line ${i}`);
        return 1;
      },
    });
    const run = await ty.run(p);
    const plant = (root: string, dir: string, ageMs: number) => {
      const file = path.join(root, dir, "talk.1.log.gz");
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, "a log");
      const at = new Date(Date.now() - ageMs);
      fs.utimesSync(file, at, at);
      fs.utimesSync(path.dirname(file), at, at);
      return path.dirname(file);
    };
    const copies = path.join(home, "artifacts", "logs");
    const left = {
      home: plant(path.join(home, "logs"), "20260101-000000-aaaaaa", 2 * 3_600_000),
      store: plant(copies, "20260101-000000-bbbbbb", 2 * 3_600_000),
      fresh: plant(copies, "20260101-000000-cccccc", 60_000),
      recorded: plant(copies, run.runId, 2 * 3_600_000),
    };
    const exists = () => Object.fromEntries(Object.entries(left).map(([k, d]) => [k, fs.existsSync(d)]));
    expect((await ty.gc({ dryRun: true })).orphanLogDirsRemoved).toBe(2);
    expect(Object.values(exists())).toEqual([true, true, true, true]);
    expect((await ty.gc({})).orphanLogDirsRemoved).toBe(2);
    expect(exists()).toEqual({ home: false, store: false, fresh: true, recorded: true });
    expect(fs.existsSync(path.join(home, "logs", run.runId))).toBe(true);
    // The run removed: its log files and copies go with it.
    const removed = await ty.gc({ keepLast: 0 });
    expect(removed.runsRemoved).toEqual([run.runId]);
    expect(fs.existsSync(left.recorded)).toBe(false);
    expect(fs.existsSync(path.join(home, "logs", run.runId))).toBe(false);
  } finally {
    await ty.close();
  }
});
