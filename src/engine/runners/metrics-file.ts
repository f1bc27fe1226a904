/**
 * $TRAINYARD_METRICS for command steps: the program appends JSON lines to this file, and they
 * are read while it runs (polled), so metrics are recorded live, not only at the end. A
 * malformed line is reported with its step, file and line number; every other line is kept.
 */
import { closeSync, existsSync, openSync, readSync, rmSync } from "node:fs";
import { METRICS_LINE_FORMS, parseMetricsLine } from "../metric-input.js";
import type { RunningStepContext } from "../step-context.js";

/** How often the file is read while the command runs. */
const POLL_MS = 200;
/** Longest line read; a longer one is reported, not buffered without bound. */
const MAX_LINE_BYTES = 64 * 1024;

export class MetricsFileTail {
  private offset = 0;
  private lineNo = 0;
  private partial: Buffer = Buffer.alloc(0);
  private timer?: NodeJS.Timeout;
  private skipping = false;

  constructor(
    readonly path: string,
    private readonly ctx: RunningStepContext,
  ) {}

  /**
   * Starts reading. The file is made by the program's first append: work directories start
   * empty, and creating it for every command step would cost steps that never use it.
   */
  start(): void {
    this.timer = setInterval(() => this.read(false), POLL_MS);
    this.timer.unref();
  }

  /** Reads what is left (the last line even without its newline), then removes the file. */
  stop(): void {
    clearInterval(this.timer);
    // Removed once read, so the work directory can go back to the run's pool.
    if (this.read(true)) rmSync(this.path, { force: true });
  }

  /** False when there is no file (yet). */
  private read(final: boolean): boolean {
    // Most commands never write metrics: a plain existence check spares a thrown ENOENT each time.
    if (this.offset === 0 && !existsSync(this.path)) return false;
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch {
      return false;
    }
    try {
      const chunk = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.take(chunk.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    if (final && this.partial.length) {
      const rest = this.partial;
      this.partial = Buffer.alloc(0);
      this.line(rest);
    }
    return true;
  }

  private take(bytes: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, bytes]) : bytes;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      this.line(data.subarray(0, nl));
      data = data.subarray(nl + 1);
    }
    this.partial = Buffer.from(data);
    if (this.partial.length > MAX_LINE_BYTES) {
      this.line(this.partial);
      this.partial = Buffer.alloc(0);
      this.skipping = true;
    }
  }

  private line(bytes: Buffer): void {
    // The rest of an over-long line, after it was reported.
    if (this.skipping) {
      this.skipping = false;
      this.lineNo++;
      return;
    }
    this.lineNo++;
    const text = bytes.toString("utf8").trim();
    if (!text) return;
    const parsed =
      bytes.length > MAX_LINE_BYTES ? { problem: `it is longer than ${MAX_LINE_BYTES} bytes` } : parseMetricsLine(text);
    if ("problem" in parsed) {
      const where = `step "${this.ctx.stepId}": line ${this.lineNo} of $TRAINYARD_METRICS (${this.path})`;
      this.ctx.warn(
        `${where} was left out: ${parsed.problem}; write one JSON object a line, e.g. ${METRICS_LINE_FORMS}`,
      );
      return;
    }
    for (const m of parsed.metrics) this.ctx.metric(m.name, m.value, m);
    for (const [key, value] of parsed.tags) this.ctx.tag(key, value);
  }
}
