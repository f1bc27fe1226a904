/**
 * The log of one attempt. A short log lives in the metadata database only; once it outgrows
 * what the database keeps (its head), every line goes to the attempt's log file, and the
 * database gets the head, a note, and the last lines (a bounded tail) when the attempt ends.
 */
import { hostname } from "node:os";
import type { LogCopies } from "../store/artifact-store.js";
import type { LogLine } from "../store/metadata-store.js";
import { DEFAULT_LINE_BYTES, LINE_SPLIT_MARK } from "./log-lines.js";
import {
  compileLogLimits,
  formatBytes,
  GOES_TO_FILE,
  logNote,
  NOT_KEPT,
  stepLogFile,
  stepLogName,
  type LogLimits,
} from "./step-log-files.js";
import { LIVE_TIMING, LiveLogCopy, type LiveTiming } from "./live-log-copy.js";
import { RunLogBudget, StepLogWriter } from "./step-log-writer.js";

/** Characters of an attempt's head, and of its tail, kept in the database (besides the line count). */
const DB_CHARS = 256 * 1024;

/** Where an attempt's records go: the run's RecordWriter. */
export interface LogRecords {
  appendLogs(stepRunId: string, attempt: number, lines: LogLine[]): void;
}

/**
 * The log files of one run, with their shared cap. Given `copies` (a worker's: its home is not the
 * orchestrator's), each attempt's file is copied there as it grows (live parts), and whole once
 * it is closed.
 */
export class RunLogs {
  readonly limits: LogLimits;
  private readonly budget: RunLogBudget;
  /** Copies under way, by step run. */
  private readonly copying = new Map<string, Promise<void>[]>();

  constructor(
    private readonly home: string,
    private readonly runId: string,
    private readonly records: LogRecords,
    limits?: Partial<LogLimits>,
    private readonly copies?: LogCopies,
    private readonly live: LiveTiming = LIVE_TIMING,
  ) {
    this.limits = compileLogLimits(limits);
    this.budget = new RunLogBudget(this.limits.runBytes);
  }

  open(stepRunId: string, attempt: number): AttemptLog {
    // The path is worked out only for an attempt whose output outgrows the database's head.
    const file = () =>
      new StepLogWriter(stepLogFile(this.home, this.runId, stepRunId, attempt), this.limits.stepBytes, this.budget);
    const copier = this.copies && this.copier(this.copies, stepRunId, attempt);
    return new AttemptLog(stepRunId, attempt, this.limits, this.records, file, copier);
  }

  /** Resolves once the log files of `stepRunId`'s attempts so far are copied (or failed to be). */
  async copied(stepRunId: string): Promise<void> {
    const pending = this.copying.get(stepRunId);
    if (!pending) return;
    this.copying.delete(stepRunId);
    await Promise.all(pending);
  }

  /** Copies an attempt's file live while it grows, then whole once closed if the database lacks lines of it. */
  private copier(copies: LogCopies, stepRunId: string, attempt: number): FileCopier {
    const name = stepLogName(this.runId, stepRunId, attempt);
    const note = (text: string) => this.records.appendLogs(stepRunId, attempt, [logNote(text)]);
    let live: LiveLogCopy | undefined;
    const whole = async (file: string) => {
      await live?.stop();
      try {
        if (file) await copies.put(name, file);
      } catch (err) {
        const why = (err as Error).message ?? String(err);
        note(`the log file could not be copied to the artifact store (${why}); only ${hostname()} has it`);
      }
      // The whole copy (or the database) has every line the live parts had.
      await live?.removeParts();
    };
    return {
      started: (file) => {
        live = new LiveLogCopy(
          copies,
          name,
          file,
          (why) => note(`the log file could not be copied to the artifact store as it grew (${why}); trying again`),
          this.live,
        );
      },
      closed: (file, copy) => {
        const done = whole(copy ? file : "");
        const pending = this.copying.get(stepRunId);
        if (pending) pending.push(done);
        else this.copying.set(stepRunId, [done]);
      },
    };
  }
}

/** What an attempt's log tells whoever copies its file (RunLogs, given LogCopies). */
interface FileCopier {
  /** The file was opened: copy it as it grows. */
  started(file: string): void;
  /** The file is closed; `copy` when the database lacks some of its lines. */
  closed(file: string, copy: boolean): void;
}

/** Recent output, kept for the database's tail: a line, or a block of lines as it came. */
interface Recent {
  line?: LogLine;
  block?: { stream: "stdout" | "stderr"; lines: Buffer; ts: number };
  count: number;
  chars: number;
}

export class AttemptLog {
  /** The first lines, in the database already and copied into the file should one be opened. */
  private readonly head: LogLine[] = [];
  private headChars = 0;
  private total = 0;
  private file?: StepLogWriter;
  private recent: Recent[] = [];
  private recentStart = 0;
  private recentCount = 0;
  private recentChars = 0;
  private closed = false;

  constructor(
    private readonly stepRunId: string,
    private readonly attempt: number,
    private readonly limits: LogLimits,
    private readonly records: LogRecords,
    private readonly openFile: () => StepLogWriter,
    /** Copies the file where other machines read it. */
    private readonly copier?: FileCopier,
  ) {}

  write(line: LogLine): void {
    if (this.closed) return;
    // Output streams arrive split already; lines a step logs itself are split here.
    if (line.line.length > DEFAULT_LINE_BYTES + LINE_SPLIT_MARK.length) return this.writeSplit(line);
    this.total++;
    if (!this.file) {
      if (this.fitsHead(1, line.line.length)) return this.addHead(line);
      this.startFile();
    }
    this.file!.write(line);
    this.remember({ line, count: 1, chars: line.line.length });
  }

  /** Lines in bulk (see LogSink.block): the head takes what it can, the file the rest. */
  writeBlock(stream: "stdout" | "stderr", lines: Buffer, count: number, ts: number): void {
    if (this.closed) return;
    this.total += count;
    if (!this.file) {
      const room = Math.max(0, this.limits.tailLines - this.head.length);
      let end = 0;
      let taken = 0;
      for (let nl; taken < room && (nl = lines.indexOf(0x0a, end)) >= 0; taken++) {
        if (this.headChars + nl + 1 > DB_CHARS) break;
        end = nl + 1;
      }
      if (taken) {
        const text = lines.toString("utf8", 0, end - 1);
        for (const line of text.split("\n")) this.addHead({ ts, stream, line });
      }
      if (taken === count) return;
      this.startFile();
      lines = lines.subarray(end);
      count -= taken;
    }
    this.file!.writeBlock(stream, lines, count, ts);
    this.remember({ block: { stream, lines, ts }, count, chars: lines.length });
  }

  /** Ends the log: closes its file, and gives the database a note and the last lines. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.file) return;
    const summary = this.file.close();
    const tail = this.tailLines();
    const skipped = this.total - this.head.length - tail.length;
    const cut = summary.cutBytes + summary.droppedBytes;
    const notes: LogLine[] = [];
    if (skipped > 0) {
      const copy = this.copier ? ", and so will its copy in the artifact store" : "";
      notes.push(
        logNote(
          `${skipped.toLocaleString("en-US")} ${NOT_KEPT}; ` +
            `the log file ${summary.file} on ${hostname()} has ` +
            `them${cut ? ` (except ${formatBytes(cut)} cut by the log caps)` : ""}${copy}`,
        ),
      );
    }
    this.records.appendLogs(this.stepRunId, this.attempt, [...notes, ...tail]);
    // Only a file with lines the database lacks is worth a copy.
    this.copier?.closed(summary.file, skipped > 0);
  }

  private fitsHead(count: number, chars: number): boolean {
    return this.head.length + count <= this.limits.tailLines && this.headChars + chars <= DB_CHARS;
  }

  private addHead(line: LogLine): void {
    this.head.push(line);
    this.headChars += line.line.length;
    this.records.appendLogs(this.stepRunId, this.attempt, [line]);
  }

  private startFile(): void {
    this.file = this.openFile();
    for (const l of this.head) this.file.write(l);
    if (!this.copier) return;
    // Readers on other machines follow the lines from here in the file's live copy (step-log-reader.ts).
    const where = `${GOES_TO_FILE} ${this.file.file} on ${hostname()}, copied to the artifact store as they come`;
    this.records.appendLogs(this.stepRunId, this.attempt, [logNote(where)]);
    this.copier.started(this.file.file);
  }

  private remember(entry: Recent): void {
    this.recent.push(entry);
    this.recentCount += entry.count;
    this.recentChars += entry.chars;
    // Entries older than the last `tailLines` lines (and DB_CHARS characters) are let go.
    while (this.recentStart < this.recent.length - 1) {
      const first = this.recent[this.recentStart];
      if (this.recentCount - first.count < this.limits.tailLines && this.recentChars - first.chars < DB_CHARS) break;
      this.recentCount -= first.count;
      this.recentChars -= first.chars;
      this.recentStart++;
    }
    if (this.recentStart > 1024) {
      this.recent = this.recent.slice(this.recentStart);
      this.recentStart = 0;
    }
  }

  /** The last lines, as many as the database keeps. */
  private tailLines(): LogLine[] {
    const out: LogLine[] = [];
    let chars = 0;
    for (let i = this.recent.length - 1; i >= this.recentStart && out.length < this.limits.tailLines; i--) {
      const { line, block } = this.recent[i];
      const lines = line ? [line] : linesOf(block!);
      for (let j = lines.length - 1; j >= 0 && out.length < this.limits.tailLines; j--) {
        if (out.length && chars + lines[j].line.length > DB_CHARS) return out.reverse();
        chars += lines[j].line.length;
        out.push(lines[j]);
      }
    }
    return out.reverse();
  }

  private writeSplit(line: LogLine): void {
    const size = DEFAULT_LINE_BYTES;
    for (let at = 0; at < line.line.length; at += size) {
      const last = at + size >= line.line.length;
      this.write({ ...line, line: line.line.slice(at, at + size) + (last ? "" : LINE_SPLIT_MARK) });
    }
  }
}

function linesOf(block: NonNullable<Recent["block"]>): LogLine[] {
  const { ts, stream } = block;
  return block.lines
    .toString("utf8", 0, block.lines.length - 1)
    .split("\n")
    .map((line) => ({ ts, stream, line }));
}
