/**
 * Splits a program's output stream into log lines in linear time and bounded memory: a line
 * longer than the cap is cut into pieces (each but the last ends with a marker), and a
 * carriage return (a progress bar redrawing itself) keeps only the last state of its line.
 * Plain lines arriving in bulk (a chatty program) are handed on as one block per chunk, so
 * that millions of lines cost no per-line work on the way to the log file.
 */
import type { LogLine } from "../store/metadata-store.js";

/** Longest line kept whole, in bytes. */
export const DEFAULT_LINE_BYTES = 16 * 1024;

/** Ends every piece of a line that was longer than the cap, except its last. */
export const LINE_SPLIT_MARK = " [trainyard: line split, continues on the next line]";

/** Where a step's log lines go. */
export interface LogSink {
  (line: LogLine): void;
  /**
   * Many complete lines of one stream at once: `lines` holds `count` lines, each ending with a
   * newline, none with a carriage return or longer than the line cap (and the split marker).
   * Absent: line by line.
   */
  block?(stream: "stdout" | "stderr", lines: Buffer, count: number, ts: number): void;
}

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = Buffer.from("\n");
const SPLIT_MARK_LINE = Buffer.from(`${LINE_SPLIT_MARK}\n`);
/** Lines at least this long go on as blocks (bytes) when the sink takes blocks. */
const LONG_LINE = 4096;
/** Lines kept for error messages (the end of a failed command's stderr). */
const RECENT = 10;

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** A carriage return was seen: the next text replaces the line instead of extending it. */
  private redraw = false;
  private readonly recentLines: string[] = [];
  /** The last block, whose last lines are the recent ones when no line came after it. */
  private recentBlock?: Buffer;

  constructor(
    private readonly stream: "stdout" | "stderr",
    private readonly sink: LogSink,
    private readonly maxLineBytes = DEFAULT_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    const first = this.sink.block ? chunk.indexOf(LF) : -1;
    const last = first < 0 ? -1 : chunk.lastIndexOf(LF);
    if (last <= first) return this.scan(chunk);
    // The first line completes what came before; the complete lines after it may go as a block.
    this.scan(chunk.subarray(0, first + 1));
    const middle = chunk.subarray(first + 1, last + 1);
    const count = plainLineCount(middle, this.maxLineBytes);
    if (count > 0) {
      this.sink.block!(this.stream, middle, count, Date.now());
      this.recentBlock = middle;
      this.recentLines.length = 0;
    } else this.scan(middle);
    this.scan(chunk.subarray(last + 1));
  }

  /** The stream ended: a last line without its newline is still a line. */
  end(): void {
    if (this.size > 0) this.emit("");
    this.redraw = false;
  }

  /** The last few lines (at most 10), for error messages. */
  recent(): string[] {
    if (!this.recentBlock) return [...this.recentLines];
    const from = Math.max(0, this.recentBlock.length - RECENT * (this.maxLineBytes + 1));
    const text = this.recentBlock.toString("utf8", from);
    const lines = text.slice(0, -1).split("\n").slice(-RECENT);
    return [...lines, ...this.recentLines].slice(-RECENT);
  }

  /** Line by line: every byte is looked at once, whatever the chunk's shape. */
  private scan(chunk: Buffer): void {
    let at = 0;
    let nextLf = chunk.indexOf(LF);
    let nextCr = chunk.indexOf(CR);
    while (at < chunk.length) {
      if (nextLf >= 0 && nextLf < at) nextLf = chunk.indexOf(LF, at);
      if (nextCr >= 0 && nextCr < at) nextCr = chunk.indexOf(CR, at);
      const stop = Math.min(nextLf < 0 ? chunk.length : nextLf, nextCr < 0 ? chunk.length : nextCr);
      if (stop > at) this.append(chunk.subarray(at, stop));
      if (stop === chunk.length) break;
      if (chunk[stop] === LF) {
        this.emit("");
        this.redraw = false;
      } else this.redraw = true;
      at = stop + 1;
    }
  }

  private append(text: Buffer): void {
    if (this.redraw) {
      this.parts = [];
      this.size = 0;
      this.redraw = false;
    }
    while (this.size + text.length > this.maxLineBytes) {
      const cut = charBoundary(text, this.maxLineBytes - this.size, this.size);
      this.parts.push(text.subarray(0, cut));
      this.size += cut;
      text = text.subarray(cut);
      this.emit(LINE_SPLIT_MARK);
    }
    if (text.length) {
      this.parts.push(text);
      this.size += text.length;
    }
  }

  private emit(suffix: string): void {
    if (this.sink.block && this.size >= LONG_LINE) {
      // A long line (a piece of a longer one) goes on as bytes: no string made on the way to its file.
      const bytes = Buffer.concat([...this.parts, suffix ? SPLIT_MARK_LINE : NEWLINE]);
      this.parts = [];
      this.size = 0;
      this.recentBlock = bytes;
      this.recentLines.length = 0;
      return this.sink.block(this.stream, bytes, 1, Date.now());
    }
    const one = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    const line = one.toString("utf8") + suffix;
    this.parts = [];
    this.size = 0;
    if (this.recentLines.push(line) > RECENT) this.recentLines.shift();
    this.sink({ ts: Date.now(), stream: this.stream, line });
  }
}

/** How many lines `text` (complete lines) holds; 0 when one has a carriage return or is too long. */
function plainLineCount(text: Buffer, maxLineBytes: number): number {
  if (text.indexOf(CR) >= 0) return 0;
  // Each step jumps to the last newline within a line's cap: a longer gap is a longer line.
  for (let at = 0; at < text.length; ) {
    const last = text.lastIndexOf(LF, at + maxLineBytes);
    if (last < at) return 0;
    at = last + 1;
  }
  return countNewlines(text);
}

/** Newlines in `text`, four bytes at a time where the bytes are aligned. */
function countNewlines(text: Buffer): number {
  let count = 0;
  let i = 0;
  const head = Math.min(text.length, (4 - (text.byteOffset % 4)) % 4);
  for (; i < head; i++) if (text[i] === LF) count++;
  const words = (text.length - i) >> 2;
  if (words > 0) {
    const view = new Uint32Array(text.buffer, text.byteOffset + i, words);
    for (let w = 0; w < words; w++) {
      const x = view[w] ^ 0x0a0a0a0a;
      // 0x80 in each byte of x that is zero (exact, no false positives).
      const zero = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
      if (zero) count += popcount(zero);
    }
    i += words * 4;
  }
  for (; i < text.length; i++) if (text[i] === LF) count++;
  return count;
}

function popcount(v: number): number {
  let n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

/** The largest cut <= want that does not split a UTF-8 character (`want` in text that is not UTF-8). */
function charBoundary(text: Buffer, want: number, pending: number): number {
  for (let cut = want; cut >= 0 && cut > want - 4; cut--) {
    if (cut >= text.length || (text[cut] & 0xc0) !== 0x80) return cut > 0 || pending > 0 ? cut : want;
  }
  return want;
}
