/**
 * A worker's copy of one attempt's log file while it grows. Every LIVE_MS, the bytes the file has
 * gained go to the artifact store's log copies as a live part named by its offset in the file
 * (`<name>.live-<offset>`), so that a reader on another machine follows the log as it is written
 * (step-log-reader.ts), and still has what a worker killed mid-step had written. The file is a
 * series of gzip members, each written whole, so the parts in order are a readable prefix of it.
 * The parts are removed once the attempt ends: its whole file is copied then (RunLogs), or the
 * database keeps every line.
 */
import { statSync } from "node:fs";
import { open } from "node:fs/promises";
import type { LogCopies } from "../store/artifact-store.js";

/** How often a growing log's new bytes are copied: how far behind a reader on another machine is. */
export const LIVE_MS = 2000;

/** The name of the live part of the copy `name` that starts at `offset` bytes into the file. */
export function livePartName(name: string, offset: number): string {
  return `${name}.live-${offset}`;
}

/** Whether a file name (without its directory) is a live part of the copy `name`'s file; its offset. */
export function livePartOffset(fileName: string, name: string): number | undefined {
  const prefix = `${name.slice(name.lastIndexOf("/") + 1)}.live-`;
  if (!fileName.startsWith(prefix)) return undefined;
  const offset = Number(fileName.slice(prefix.length));
  return Number.isSafeInteger(offset) && offset >= 0 ? offset : undefined;
}

export class LiveLogCopy {
  private sent = 0;
  /** Where the part that failed ended: tried again as it was, so that a part's bytes never change. */
  private retryEnd?: number;
  private readonly parts: string[] = [];
  private readonly timer: NodeJS.Timeout;
  private sending?: Promise<void>;
  private failed = false;

  constructor(
    private readonly copies: LogCopies,
    private readonly name: string,
    private readonly file: string,
    /** Told once, the first time a part could not be copied (later ticks try again). */
    private readonly onFailure: (why: string) => void,
  ) {
    this.timer = setInterval(() => this.tick(), LIVE_MS).unref();
  }

  /** Stops copying parts; resolves once none is under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sending;
  }

  /** Removes the parts copied (after stop); a failure leaves them to gc, with the run. */
  async removeParts(): Promise<void> {
    if (this.parts.length) await this.copies.remove(this.parts).catch(() => undefined);
  }

  private tick(): void {
    this.sending ??= this.send().finally(() => {
      this.sending = undefined;
    });
  }

  private async send(): Promise<void> {
    try {
      // The file only grows, by whole gzip members written synchronously on this thread: its size,
      // read on this thread too, ends one. A part whose upload failed may have been stored all the
      // same (its answer lost): a reader may hold it, and the next part must start where it ends.
      const size = this.retryEnd ?? statSync(this.file).size;
      if (size <= this.sent) return;
      const bytes = Buffer.allocUnsafe(size - this.sent);
      const handle = await open(this.file, "r");
      try {
        for (let got = 0, n; got < bytes.length; got += n) {
          n = (await handle.read(bytes, got, bytes.length - got, this.sent + got)).bytesRead;
          if (!n) throw new Error(`${this.file} is shorter than ${size} bytes`);
        }
      } finally {
        await handle.close();
      }
      const part = livePartName(this.name, this.sent);
      this.retryEnd = size;
      await this.copies.put(part, bytes);
      this.parts.push(part);
      this.sent = size;
      this.retryEnd = undefined;
    } catch (err) {
      if (this.failed) return;
      this.failed = true;
      this.onFailure((err as Error).message ?? String(err));
    }
  }
}
