/**
 * Reads a step run's log, attempt by attempt: from the attempt's log file when there is one,
 * else from its copy in the artifact store (a long log a worker wrote), else from what the
 * metadata database kept (the whole of a short log; the head, a note and the tail of a long one
 * whose file is gone). Streams, so a large log costs no more memory than a block of it.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, readdirSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { basename, dirname, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { constants, createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import type { LogCopies } from "../store/artifact-store.js";
import type { LogLine, StepRunStore } from "../store/metadata-store.js";
import {
  attemptsWithLogFiles,
  decodeLogBlockHeader,
  decodeLogLine,
  logNote,
  NOT_KEPT,
  stepLogFile,
  stepLogName,
} from "./step-log-files.js";

/** Consecutive lines of one attempt and stream (`ts` is when the first of them was written). */
export interface LogRun {
  attempt: number;
  stream: LogLine["stream"];
  ts: number;
  lines: string[];
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
    // A long log (the database has its head and tail only) may have a copy: a worker's.
    const copies = src.artifacts?.logCopies;
    const fetched = copies && lines.some(isNotKeptNote) ? await fetchCopy(copies, runId, stepRunId, n, src.home) : {};
    if (fetched.runs) {
      for await (const run of fetched.runs) yield { ...run, attempt: n };
      continue;
    }
    if (fetched.failed) yield { attempt: n, stream: "log", ts: fetched.failed.ts, lines: [fetched.failed.line] };
    for (const l of lines) yield { attempt: n, stream: l.stream, ts: l.ts, lines: [l.line] };
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

/**
 * The lines of an attempt's copy, kept first as this home's file of the attempt (gc removes it with
 * the run), so that the next read, or the next page of this one, reads it here instead of fetching
 * the copy again; streamed from the store when this home cannot take it. Nothing when there is no
 * copy; a note when the store could not give it.
 */
async function fetchCopy(
  copies: LogCopies,
  runId: string,
  stepRunId: string,
  attempt: number,
  home: string,
): Promise<{ runs?: AsyncGenerator<FileRun>; failed?: LogLine }> {
  const name = stepLogName(runId, stepRunId, attempt);
  const file = stepLogFile(home, runId, stepRunId, attempt);
  try {
    const copy = await copies.open(name);
    if (!copy) return {};
    if (await keepAs(copy, file)) return { runs: readLogFile(file) };
    const again = await copies.open(name);
    return again ? { runs: readLogStream(again, `the copy ${name} in the artifact store`) } : {};
  } catch (err) {
    return { failed: logNote(`the copy ${name} in the artifact store could not be read: ${(err as Error).message}`) };
  }
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

function isNotKeptNote(line: LogLine): boolean {
  return line.stream === "log" && line.line.startsWith("[trainyard] ") && line.line.includes(NOT_KEPT);
}

/** The lines of a log file's bytes (gzip), named `what` in a note should they stop short. */
function readLogStream(bytes: Readable, what: string): AsyncGenerator<FileRun> {
  const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: 256 * 1024 });
  bytes.on("error", (err) => gunzip.destroy(err));
  return decodeRuns(bytes.pipe(gunzip), what);
}

/** The lines of one log file, then those of tail segments a stopped orchestrator left behind. */
export async function* readLogFile(file: string): AsyncGenerator<FileRun> {
  yield* readLogStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), file);
  const dir = dirname(file);
  const prefix = `${basename(file)}.tail-`;
  const left = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(prefix)) : [];
  if (!left.length) return;
  const note = logNote("the log was not finished (its orchestrator stopped); the last part it had kept follows");
  yield { stream: "log", ts: note.ts, lines: [note.line] };
  for (const name of left.sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))) {
    yield* decodeRuns(createReadStream(join(dir, name), { highWaterMark: 1024 * 1024 }), file);
  }
}

async function* decodeRuns(stream: NodeJS.ReadableStream, file: string): AsyncGenerator<FileRun> {
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
          yield { stream: block.stream, ts: block.ts, lines: text.slice(at, end).split("\n") };
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
        if (header) block = { stream: header.stream, ts: header.ts, lines: [], left: header.count };
        else {
          const line = decodeLogLine(record);
          if (line) yield { stream: line.stream, ts: line.ts, lines: [line.line] };
        }
      }
      rest = text.slice(at);
    }
  } catch (err) {
    const note = logNote(`the rest of ${file} could not be read: ${(err as Error).message}`);
    yield { stream: "log", ts: note.ts, lines: [note.line] };
    return;
  }
  // A record cut short by a crash: its last, partial line.
  if (rest && block) yield { stream: block.stream, ts: block.ts, lines: [rest] };
  else if (rest) {
    const line = decodeLogLine(rest);
    if (line) yield { stream: line.stream, ts: line.ts, lines: [line.line] };
  }
}
