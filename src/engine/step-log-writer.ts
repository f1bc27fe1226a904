/**
 * Writes one attempt's log file. The first half of the step's cap goes straight into the gzip
 * file; past it, output goes to plain tail segments on disk, of which only the last two are
 * kept, so the file ends up holding the head and the last part of the output with a note
 * between them saying how much was cut. A run-wide budget stops every file of a run alike.
 *
 * A line keeps its number (its offset, which followers and links use) from the moment it is
 * written: the head's lines are numbered from 0, the note where the head ends takes the next
 * number and the note on what was cut (written when the file is finished) the one after, and the
 * n-th line written past the head, cut or kept, the one after that plus n. Each tail segment
 * starts with a numbering record giving its first line's number, so that its lines keep their
 * numbers whichever segments before it were cut, and in the finished file.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { constants, gzipSync } from "node:zlib";
import type { LogLine } from "../store/metadata-store.js";
import { encodeLogBlockHeader, encodeLogLine, encodeLogNumber, formatBytes, logNote } from "./step-log-files.js";

/** Encoded output gathered before it is compressed and written (one gzip member per block). */
const BLOCK_BYTES = 256 * 1024;
/** A slow step's lines reach the file within this long. */
const FLUSH_MS = 1000;
const GZIP = { level: constants.Z_BEST_SPEED };

/** Bytes of log files a run keeps, shared by all its attempts. */
export class RunLogBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

interface Segment {
  path: string;
  fd: number;
  bytes: number;
  lines: number;
}

export interface StepLogSummary {
  file: string;
  /** Output lines and bytes the attempt wrote, kept or not. */
  lines: number;
  bytes: number;
  /** Output cut out between the head and the last part (the step's cap). */
  cutBytes: number;
  /** Output not kept because the run's cap was reached. */
  droppedBytes: number;
}

export class StepLogWriter {
  private readonly fd: number;
  private readonly block = Buffer.allocUnsafe(BLOCK_BYTES);
  private blockUsed = 0;
  private mode: "head" | "tail" | "stopped" = "head";
  private headBytes = 0;
  /** Lines written to the head; and past it, cut or kept (see the header: their numbers). */
  private headLines = 0;
  private tailLines = 0;
  private readonly headCap: number;
  private readonly segmentCap: number;
  private readonly segments: Segment[] = [];
  private segmentNo = 0;
  private cut = { bytes: 0, lines: 0 };
  private dropped = { bytes: 0, lines: 0 };
  private total = { bytes: 0, lines: 0 };
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly stepBytes: number,
    private readonly budget: RunLogBudget,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, "w");
    this.headCap = Math.floor(stepBytes / 2);
    // The last part is kept as two segments: the current one and the one before it.
    this.segmentCap = Math.max(1, Math.floor((stepBytes - this.headCap) / 2));
    this.timer = setInterval(() => this.flushBlock(), FLUSH_MS).unref();
  }

  write(line: LogLine): void {
    this.add(Buffer.byteLength(line.line) + 1, 1, encodeLogLine(line));
  }

  /** Lines of one stream in bulk (see LogSink.block), stored as they came behind a header. */
  writeBlock(stream: "stdout" | "stderr", lines: Buffer, count: number, ts: number): void {
    this.add(lines.length, count, encodeLogBlockHeader(stream, ts, count), lines);
  }

  private add(bytes: number, lines: number, text: string, raw?: Buffer): void {
    this.total.bytes += bytes;
    this.total.lines += lines;
    if (this.mode !== "stopped" && this.budget.used + bytes > this.budget.limit) {
      this.flushBlock();
      this.mode = "stopped";
    }
    if (this.mode === "stopped") {
      this.dropped.bytes += bytes;
      this.dropped.lines += lines;
      return;
    }
    this.budget.used += bytes;
    if (this.mode === "head") {
      if (this.headBytes + bytes <= this.headCap) {
        this.headBytes += bytes;
        this.headLines += lines;
        return this.append(text, raw);
      }
      this.flushBlock();
      // Where the head ends, for a reader of the log as it is written as much as of the finished file.
      this.writeGzip(
        encodeLogLine(
          logNote(
            `the first ${formatBytes(this.headBytes)} of output end here: past them, only the last ` +
              `${formatBytes(this.stepBytes - this.headCap)} are kept (the step's log cap)`,
          ),
        ),
      );
      this.mode = "tail";
      this.newSegment();
    }
    let seg = this.segments[this.segments.length - 1];
    if (seg.bytes > 0 && seg.bytes + bytes > this.segmentCap) {
      this.flushBlock();
      seg = this.newSegment();
    }
    seg.bytes += bytes;
    seg.lines += lines;
    this.tailLines += lines;
    this.append(text, raw);
  }

  /** Finishes the file: head, a note where output was cut, the last part, a note on the run's cap. */
  close(): StepLogSummary {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.timer);
      this.flushBlock();
      if (this.cut.bytes) {
        const kept = this.segments.reduce((n, s) => n + s.bytes, 0);
        this.writeGzip(
          encodeLogLine(
            logNote(
              `output cut here: ${formatBytes(this.cut.bytes)} in ${count(this.cut.lines)} lines were not kept ` +
                `(the step's log cap is ${formatBytes(this.stepBytes)}: ` +
                `the first ${formatBytes(this.headBytes)} and the last ` +
                `${formatBytes(kept)} are kept)`,
            ),
          ),
        );
      }
      for (const seg of this.segments) this.compressSegment(seg);
      if (this.dropped.bytes) {
        this.writeGzip(
          encodeLogLine(
            logNote(
              `output cut here: the run's logs reached their cap of ${formatBytes(this.budget.limit)}; the last ` +
                `${formatBytes(this.dropped.bytes)} in ${count(this.dropped.lines)} lines of this step were not kept`,
            ),
          ),
        );
      }
      closeSync(this.fd);
    }
    const { total, cut, dropped } = this;
    return { file: this.file, ...total, cutBytes: cut.bytes, droppedBytes: dropped.bytes };
  }

  private append(text: string, raw?: Buffer): void {
    // A UTF-8 character takes at most three bytes per UTF-16 unit.
    if (this.blockUsed + 3 * text.length > BLOCK_BYTES) this.flushBlock();
    if (3 * text.length > BLOCK_BYTES) this.writeOut(Buffer.from(text));
    else this.blockUsed += this.block.write(text, this.blockUsed);
    if (!raw) return;
    if (this.blockUsed + raw.length > BLOCK_BYTES) this.flushBlock();
    if (raw.length > BLOCK_BYTES) this.writeOut(raw);
    else this.blockUsed += raw.copy(this.block, this.blockUsed);
  }

  private flushBlock(): void {
    if (!this.blockUsed) return;
    const used = this.blockUsed;
    this.blockUsed = 0;
    this.writeOut(this.block.subarray(0, used));
  }

  /** To the gzip file (head) or the current tail segment, as plain text. */
  private writeOut(bytes: Buffer): void {
    if (this.mode === "tail") writeAll(this.segments[this.segments.length - 1].fd, bytes);
    else this.writeGzip(bytes);
  }

  private writeGzip(text: string | Buffer): void {
    writeAll(this.fd, gzipSync(text, GZIP));
  }

  private newSegment(): Segment {
    const path = `${this.file}.tail-${++this.segmentNo}`;
    const seg = { path, fd: openSync(path, "w"), bytes: 0, lines: 0 };
    // The head's lines, the two notes after it, then the lines written past it so far.
    writeAll(seg.fd, Buffer.from(encodeLogNumber(this.headLines + 2 + this.tailLines)));
    this.segments.push(seg);
    if (this.segments.length > 2) {
      const old = this.segments.shift()!;
      closeSync(old.fd);
      rmSync(old.path, { force: true });
      this.cut.bytes += old.bytes;
      this.cut.lines += old.lines;
      this.budget.used -= old.bytes;
    }
    return seg;
  }

  /** Appends a segment to the gzip file, a block at a time, and removes it. */
  private compressSegment(seg: Segment): void {
    closeSync(seg.fd);
    const fd = openSync(seg.path, "r");
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) this.writeGzip(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    rmSync(seg.path, { force: true });
  }
}

const count = (n: number) => n.toLocaleString("en-US");

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
}
