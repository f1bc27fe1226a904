/**
 * Reads a step run's log, attempt by attempt: from the attempt's log file when there is one,
 * else from what the metadata database kept (the whole of a short log; the head, a note and
 * the tail of a long one whose file is gone). Streams, so a large log costs no more memory
 * than a block of it.
 */
import { createReadStream, existsSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { constants, createGunzip } from "node:zlib";
import type { LogLine, StepRunStore } from "../store/metadata-store.js";
import { attemptsWithLogFiles, decodeLogBlockHeader, decodeLogLine, logNote, stepLogFile } from "./step-log-files.js";

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
    } else {
      for (const l of stored) if (l.attempt === n) yield { attempt: n, stream: l.stream, ts: l.ts, lines: [l.line] };
    }
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

/** The lines of one log file, then those of tail segments a stopped orchestrator left behind. */
export async function* readLogFile(file: string): AsyncGenerator<FileRun> {
  const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: 256 * 1024 });
  yield* decodeRuns(createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(gunzip), file);
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
