/**
 * Reads a step run's log, attempt by attempt: from the attempt's log file when there is one,
 * else from its copy in the artifact store (a long log a worker wrote; its live parts while the
 * worker writes it), else from what the metadata database kept (the whole of a short log; the
 * head, a note and the tail of a long one whose file is gone). Streams, so a large log costs no
 * more memory than a block of it.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { basename, dirname, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { constants, createGunzip } from "node:zlib";
import { Readable } from "node:stream";
import type { LogCopies } from "../store/artifact-store.js";
import type { LogLine, StepRunStore } from "../store/metadata-store.js";
import {
  attemptsWithLogFiles,
  decodeLogBlockHeader,
  decodeLogLine,
  decodeLogNumber,
  GOES_TO_FILE,
  logNote,
  NOT_KEPT,
  stepLogFile,
  stepLogName,
} from "./step-log-files.js";
import { livePartName, livePartOffset, liveSnapshotName } from "./live-log-copy.js";

/** Consecutive lines of one attempt and stream (`ts` is when the first of them was written). */
export interface LogRun {
  attempt: number;
  stream: LogLine["stream"];
  ts: number;
  lines: string[];
  /**
   * Line numbers left out before the first of these lines: output the step's log cap cut, whose
   * numbers the lines after it keep (step-log-writer.ts). Offsets count them.
   */
  skip?: number;
}

export interface StepLogSource {
  home: string;
  metadata: Pick<StepRunStore, "getLogs">;
  /** Where workers' long logs have copies. */
  artifacts?: { readonly logCopies?: LogCopies };
}

/** A step run's log (one attempt, or all in order), as runs of lines. */
export async function* readStepLog(
  src: StepLogSource,
  runId: string,
  stepRunId: string,
  attempt?: number,
): AsyncGenerator<LogRun> {
  const stored = await src.metadata.getLogs(stepRunId, attempt);
  const files = attemptsWithLogFiles(src.home, runId, stepRunId);
  const withFiles = files.filter((a) => attempt === undefined || a === attempt);
  const attempts = [...new Set([...stored.map((l) => l.attempt), ...withFiles])].sort((a, b) => a - b);
  for (const n of attempts) {
    if (withFiles.includes(n)) {
      for await (const run of readLogFile(stepLogFile(src.home, runId, stepRunId, n))) yield { ...run, attempt: n };
      continue;
    }
    const lines = stored.filter((l) => l.attempt === n);
    const copies = src.artifacts?.logCopies;
    const at = { copies: copies!, runId, stepRunId, attempt: n, home: src.home };
    // A long log (the database has its head and tail only) may have a copy: a worker's.
    const fetched = copies && lines.some(isNotKeptNote) ? await fetchCopy(at) : {};
    if (fetched.runs) {
      for await (const run of fetched.runs) yield { ...run, attempt: n };
      continue;
    }
    if (fetched.failed) yield { attempt: n, stream: "log", ts: fetched.failed.ts, lines: [fetched.failed.line] };
    // Past the head of a log still being written on a worker (or by one that died), only notes.
    const marker = lines.findIndex(isGoesToFileNote);
    const live = copies && marker >= 0 && !lines.slice(marker + 1).some((l) => !isNote(l));
    const runs = live ? readLiveCopy(at, lines.slice(0, marker), lines.slice(marker + 1)) : undefined;
    if (runs) for await (const run of runs) yield { ...run, attempt: n };
    else
      for (const l of lines)
        if (!isGoesToFileNote(l)) yield { attempt: n, stream: l.stream, ts: l.ts, lines: [l.line] };
  }
}

/** Every line of a step run's log, one object each (for callers that want LogLine records). */
export async function readStepLogLines(
  src: StepLogSource,
  runId: string,
  stepRunId: string,
  attempt?: number,
): Promise<Array<LogLine & { attempt: number }>> {
  const out: Array<LogLine & { attempt: number }> = [];
  for await (const run of readStepLog(src, runId, stepRunId, attempt)) {
    for (const line of run.lines) out.push({ attempt: run.attempt, ts: run.ts, stream: run.stream, line });
  }
  return out;
}

type FileRun = Omit<LogRun, "attempt">;

/** An attempt whose log other machines wrote: where its copies are, and this home. */
interface CopiedAttempt {
  copies: LogCopies;
  runId: string;
  stepRunId: string;
  attempt: number;
  home: string;
}

/**
 * The lines of an attempt's copy, kept first as this home's file of the attempt (gc removes it with
 * the run), so that the next read, or the next page of this one, reads it here instead of fetching
 * the copy again; streamed from the store when this home cannot take it. Nothing when there is no
 * copy; a note when the store could not give it.
 */
async function fetchCopy(at: CopiedAttempt): Promise<{ runs?: AsyncGenerator<FileRun>; failed?: LogLine }> {
  const { copies } = at;
  const name = stepLogName(at.runId, at.stepRunId, at.attempt);
  const file = stepLogFile(at.home, at.runId, at.stepRunId, at.attempt);
  try {
    const copy = await copies.open(name);
    if (!copy) return {};
    if (await keepAs(copy, file)) {
      // The live parts kept while the attempt ran are a prefix of this file.
      for (const part of keptLiveParts(file, name)) await rm(part.path, { force: true });
      return { runs: readLogFile(file) };
    }
    const again = await copies.open(name);
    return again ? { runs: readLogStream(again, `the copy ${name} in the artifact store`) } : {};
  } catch (err) {
    return { failed: logNote(`the copy ${name} in the artifact store could not be read: ${(err as Error).message}`) };
  }
}

/**
 * The lines of a log still being written on a worker (or left by one that died), from the live
 * parts of its copy (live-log-copy.ts): those this home kept on an earlier read, then those the
 * store has beyond them (from its latest snapshot when that spares fetching parts), kept here
 * in turn. Before the first part, the database's head; after the lines, the database's notes
 * (`after`), and one if the store could not be read.
 */
async function* readLiveCopy(at: CopiedAttempt, head: LogLine[], after: LogLine[]): AsyncGenerator<FileRun> {
  const name = stepLogName(at.runId, at.stepRunId, at.attempt);
  const file = stepLogFile(at.home, at.runId, at.stepRunId, at.attempt);
  const parts: Array<string | Buffer> = [];
  let offset = 0;
  for (const part of keptLiveParts(file, name)) {
    if (part.offset !== offset) break;
    parts.push(part.path);
    offset += part.size;
  }
  /** Keeps bytes that start at `offset` under a part's name beside this home's file of the attempt. */
  const keep = async (bytes: Buffer) => {
    const kept = livePartName(file, offset);
    parts.push((await keepAs(Readable.from([bytes]), kept)) ? kept : bytes);
    offset += bytes.length;
  };
  let failed: LogLine | undefined;
  try {
    let fetched = 0;
    let snapshotTried = false;
    for (;;) {
      // Far behind (starting, or finding part after part), the latest snapshot first: it ends
      // where a part starts, and spares fetching every part before it.
      if (!snapshotTried && (offset === 0 || fetched >= 4)) {
        snapshotTried = true;
        const snapshot = await at.copies.open(liveSnapshotName(name));
        const bytes = snapshot && Buffer.concat(await snapshot.toArray());
        if (bytes && bytes.length > offset) await keep(bytes.subarray(offset));
      }
      const part = await at.copies.open(livePartName(name, offset));
      if (!part) break;
      await keep(Buffer.concat(await part.toArray()));
      fetched++;
    }
  } catch (err) {
    failed = logNote(`the live copy of ${name} in the artifact store could not be read: ${(err as Error).message}`);
  }
  if (!parts.length) for (const l of head) yield { stream: l.stream, ts: l.ts, lines: [l.line] };
  else {
    const bytes = Readable.from(
      (async function* () {
        for (const part of parts) {
          if (typeof part !== "string") yield part;
          else for await (const chunk of createReadStream(part, { highWaterMark: 1024 * 1024 })) yield chunk;
        }
      })(),
    );
    yield* readLogStream(bytes, `the live copy of ${name}`);
  }
  for (const l of failed ? [...after, failed] : after) yield { stream: l.stream, ts: l.ts, lines: [l.line] };
}

/** The live parts of `name`'s copy kept beside `file` in this home, by offset. */
function keptLiveParts(file: string, name: string): Array<{ path: string; offset: number; size: number }> {
  const dir = dirname(file);
  const out: Array<{ path: string; offset: number; size: number }> = [];
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
    const offset = livePartOffset(entry, name);
    if (offset === undefined) continue;
    const path = join(dir, entry);
    out.push({ path, offset, size: statSync(path).size });
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/** Writes `bytes` to `file` (whole, or not at all); false when this home cannot take it (read-only, full). */
async function keepAs(bytes: Readable, file: string): Promise<boolean> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await pipeline(bytes, createWriteStream(temp));
    await rename(temp, file);
    return true;
  } catch (err) {
    bytes.destroy();
    await rm(temp, { force: true });
    if (["EACCES", "EROFS", "ENOSPC", "EPERM", "EDQUOT"].includes((err as NodeJS.ErrnoException).code ?? ""))
      return false;
    throw err;
  }
}

function isNote(line: LogLine): boolean {
  return line.stream === "log" && line.line.startsWith("[trainyard] ");
}

function isNotKeptNote(line: LogLine): boolean {
  return isNote(line) && line.line.includes(NOT_KEPT);
}

function isGoesToFileNote(line: LogLine): boolean {
  return isNote(line) && line.line.includes(GOES_TO_FILE);
}

/** The lines of a log file's bytes (gzip), named `what` in a note should they stop short. */
function readLogStream(bytes: Readable, what: string, numbered = { next: 0 }): AsyncGenerator<FileRun> {
  const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: 256 * 1024 });
  bytes.on("error", (err) => gunzip.destroy(err));
  return decodeRuns(bytes.pipe(gunzip), what, numbered);
}

/**
 * The lines of one log file, then those of its tail segments: the last part of a log still being
 * written past its head (or left by an orchestrator that stopped). A segment removed meanwhile was
 * cut; the lines of the next keep their numbers.
 */
export async function* readLogFile(file: string): AsyncGenerator<FileRun> {
  const numbered = { next: 0 };
  yield* readLogStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), file, numbered);
  const dir = dirname(file);
  const prefix = `${basename(file)}.tail-`;
  const left = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(prefix)) : [];
  for (const name of left.sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))) {
    const segment = await open(join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (segment) yield* decodeRuns(segment.createReadStream({ highWaterMark: 1024 * 1024 }), file, numbered);
  }
}

/** The runs of lines in a log's text; `numbered.next` is the number of the next line, kept across calls. */
async function* decodeRuns(
  stream: NodeJS.ReadableStream,
  file: string,
  numbered: { next: number },
): AsyncGenerator<FileRun> {
  /** A run as it is yielded: with the numbers left out before it, and counted. */
  let skip = 0;
  const run = (r: FileRun): FileRun => {
    const numberedRun = skip ? { ...r, skip } : r;
    skip = 0;
    numbered.next += r.lines.length;
    return numberedRun;
  };
  const decoder = new StringDecoder("utf8");
  /** The block being read: its lines still to come. */
  let block: (FileRun & { left: number }) | undefined;
  let rest = "";
  try {
    for await (const chunk of stream) {
      // Lines in a log file are short (split when written), so `rest` stays small.
      const text = rest + decoder.write(chunk as Buffer);
      let at = 0;
      while (at < text.length) {
        if (block) {
          // As many of the block's lines as this text holds, split at once.
          let end = at - 1;
          let n = 0;
          for (let nl; n < block.left && (nl = text.indexOf("\n", end + 1)) >= 0; n++) end = nl;
          if (!n) break;
          yield run({ stream: block.stream, ts: block.ts, lines: text.slice(at, end).split("\n") });
          block.left -= n;
          if (!block.left) block = undefined;
          at = end + 1;
          continue;
        }
        const nl = text.indexOf("\n", at);
        if (nl < 0) break;
        const record = text.slice(at, nl);
        at = nl + 1;
        const header = decodeLogBlockHeader(record);
        const next = header ? undefined : decodeLogNumber(record);
        if (header) block = { stream: header.stream, ts: header.ts, lines: [], left: header.count };
        else if (next !== undefined) {
          // Lines were cut before this one: it keeps its number (never one already given).
          if (next > numbered.next) skip += next - numbered.next;
          numbered.next = Math.max(numbered.next, next);
        } else {
          const line = decodeLogLine(record);
          if (line) yield run({ stream: line.stream, ts: line.ts, lines: [line.line] });
        }
      }
      rest = text.slice(at);
    }
  } catch (err) {
    const note = logNote(`the rest of ${file} could not be read: ${(err as Error).message}`);
    yield run({ stream: "log", ts: note.ts, lines: [note.line] });
    return;
  }
  // A record cut short by a crash: its last, partial line.
  if (rest && block) yield run({ stream: block.stream, ts: block.ts, lines: [rest] });
  else if (rest) {
    const line = decodeLogLine(rest);
    if (line) yield run({ stream: line.stream, ts: line.ts, lines: [line.line] });
  }
}
