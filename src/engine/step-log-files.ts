/**
 * Where step logs live and how big they may grow. Each attempt's output goes to its own
 * gzip file, <home>/logs/<run>/<step>[item].<attempt>.log.gz, one line per log line:
 * `<o|e|l><ms timestamp> <text>`, or a block of output lines stored as they came behind a
 * `<O|E><ms timestamp> <count>` header. The metadata database keeps a bounded head and tail.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseByteSize } from "../core/byte-size.js";
import type { LogCopies } from "../store/artifact-store.js";
import { FsLogCopies } from "../store/fs-log-copies.js";
import type { LogLine } from "../store/metadata-store.js";
import { DEFAULT_LINE_BYTES } from "./log-lines.js";

export interface LogLimits {
  /**
   * Bytes of one attempt's output kept in its log file: its first half and its last part, with
   * a note between saying how much was cut. Env TRAINYARD_LOG_STEP_MAX. @default 64 MiB
   */
  stepBytes: number;
  /** Bytes of log files one run keeps, its steps together. Env TRAINYARD_LOG_RUN_MAX. @default 1 GiB */
  runBytes: number;
  /** Lines of an attempt's tail (and as many of its head) kept in the metadata database. @default 200 */
  tailLines: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_LOG_LIMITS: Readonly<LogLimits> = { stepBytes: 64 * MiB, runBytes: 1024 * MiB, tailLines: 200 };

/** Fills defaults: explicit options first, then the environment. */
export function compileLogLimits(opts: Partial<LogLimits> = {}, env: NodeJS.ProcessEnv = process.env): LogLimits {
  const fromEnv = (name: string) => (env[name] ? parseByteSize(env[name]!, name) : undefined);
  const limits: LogLimits = {
    stepBytes: opts.stepBytes ?? fromEnv("TRAINYARD_LOG_STEP_MAX") ?? DEFAULT_LOG_LIMITS.stepBytes,
    runBytes: opts.runBytes ?? fromEnv("TRAINYARD_LOG_RUN_MAX") ?? DEFAULT_LOG_LIMITS.runBytes,
    tailLines: opts.tailLines ?? DEFAULT_LOG_LIMITS.tailLines,
  };
  // A split line must fit in a file's head, and the database must keep at least the last line.
  limits.stepBytes = Math.max(limits.stepBytes, 4 * DEFAULT_LINE_BYTES);
  limits.tailLines = Math.max(1, limits.tailLines);
  return limits;
}

/** A name safe as one path component. */
function component(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9_.\-[\]]/g, "_");
  return safe === "." || safe === ".." || !safe ? `_${safe}` : safe;
}

/** A run's directory of log files, under a home's `logs` (and in the artifact store's log copies). */
export function runLogDirName(runId: string): string {
  return component(runId);
}

export function runLogDir(home: string, runId: string): string {
  return join(home, "logs", runLogDirName(runId));
}

/** The step part of a step run id: `step` or `step[item]`. */
function stepPart(runId: string, stepRunId: string): string {
  return stepRunId.startsWith(`${runId}:`) ? stepRunId.slice(runId.length + 1) : stepRunId;
}

/** An attempt's log file as named under a home's `logs` directory: `<run>/<step>[item].<attempt>.log.gz`. */
export function stepLogName(runId: string, stepRunId: string, attempt: number): string {
  return `${runLogDirName(runId)}/${component(stepPart(runId, stepRunId))}.${attempt}.log.gz`;
}

export function stepLogFile(home: string, runId: string, stepRunId: string, attempt: number): string {
  return join(home, "logs", stepLogName(runId, stepRunId, attempt));
}

/** The attempts of a step run that have a log file, in order. */
export function attemptsWithLogFiles(home: string, runId: string, stepRunId: string): number[] {
  const dir = runLogDir(home, runId);
  if (!existsSync(dir)) return [];
  const prefix = `${component(stepPart(runId, stepRunId))}.`;
  const found: number[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith(".log.gz")) continue;
    const n = Number(name.slice(prefix.length, -".log.gz".length));
    if (Number.isInteger(n) && n > 0) found.push(n);
  }
  return found.sort((a, b) => a - b);
}

/** A home's log files as run directories (the layout of the artifact store's log copies). */
export function homeLogs(home: string): LogCopies {
  return new FsLogCopies(join(home, "logs"));
}

/** Removes the log files of runs; returns how many runs had some. */
export function removeRunLogs(home: string, runIds: readonly string[]): Promise<number> {
  return homeLogs(home).removeDirs(runIds.map(runLogDirName));
}

const CODE = { stdout: "o", stderr: "e", log: "l" } as const;
const STREAM: Record<string, LogLine["stream"]> = { o: "stdout", e: "stderr", l: "log" };

export function encodeLogLine(line: LogLine): string {
  return `${CODE[line.stream]}${line.ts} ${line.line}\n`;
}

/** Heads `count` lines of a stream stored as they came: `<O|E><ms timestamp> <count>`. */
export function encodeLogBlockHeader(stream: "stdout" | "stderr", ts: number, count: number): string {
  return `${CODE[stream].toUpperCase()}${ts} ${count}\n`;
}

/**
 * The number of the next line (`N<number>`), where lines before it were cut: readers number the
 * lines after it from there (step-log-writer.ts). A reader that does not know it skips the record.
 */
export function encodeLogNumber(next: number): string {
  return `N${next}\n`;
}

/** A numbering record's number; undefined when `text` is not one. */
export function decodeLogNumber(text: string): number | undefined {
  const m = /^N(\d+)$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

type LogBlockStream = "stdout" | "stderr";

/** A block header's stream, timestamp and line count; undefined when `text` is not one. */
export function decodeLogBlockHeader(text: string): { stream: LogBlockStream; ts: number; count: number } | undefined {
  const stream = text[0] === "O" ? "stdout" : text[0] === "E" ? "stderr" : undefined;
  const m = stream && /^.(\d+) (\d+)$/.exec(text);
  return m ? { stream: stream!, ts: Number(m[1]), count: Number(m[2]) } : undefined;
}

/** One line of a log file, without its newline; undefined when it is not one. */
export function decodeLogLine(text: string): LogLine | undefined {
  const space = text.indexOf(" ");
  const stream = STREAM[text[0]];
  if (!stream || space < 2) return undefined;
  return { stream, ts: Number(text.slice(1, space)), line: text.slice(space + 1) };
}

/**
 * What the note a worker writes to the database once a log outgrows its head says: the lines that
 * follow are in the file, and its live copy, until the attempt ends (step-log-reader.ts).
 */
export const GOES_TO_FILE = "the lines after these go to the log file";

/** What the note between a long log's head and tail in the database says of the lines between. */
export const NOT_KEPT = "lines are not kept in the database";

/** A note Trainyard writes into a log (where output was cut, and why). */
export function logNote(text: string): LogLine {
  return { ts: Date.now(), stream: "log", line: `[trainyard] ${text}` };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]} (${n.toLocaleString("en-US")} bytes)`;
}
