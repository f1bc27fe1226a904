/**
 * A worker's copy of one attempt's log file while it grows. Every `everyMs`, the bytes the file
 * has gained go to the artifact store's log copies as a live part named by its offset in the file
 * (`<name>.live-<offset>`), so that a reader on another machine follows the log as it is written
 * (step-log-reader.ts), and still has what a worker killed mid-step had written. The file is a
 * series of gzip members, each written whole, so the parts in order are a readable prefix of it.
 * Every `snapshotEvery` parts, the file so far also goes up whole (`<name>.live`, ending where the
 * next part starts): a reader that comes late (the UI opened an hour into a training) fetches it
 * and the few parts after it, not every part since the start. The parts are removed once the
 * attempt ends: its whole file is copied then (RunLogs), or the database keeps every line.
 */
import { statSync } from "node:fs";
import { open } from "node:fs/promises";
import type { LogCopies } from "../store/artifact-store.js";

export interface LiveTiming {
  /** How often a growing log's new bytes are copied: how far behind a reader on another machine is. */
  everyMs: number;
  /** Parts between two snapshots of the file so far. */
  snapshotEvery: number;
}

export const LIVE_TIMING: Readonly<LiveTiming> = { everyMs: 2000, snapshotEvery: 16 };

/** The name of the live part of the copy `name` that starts at `offset` bytes into the file. */
export function livePartName(name: string, offset: number): string {
  return `${name}.live-${offset}`;
}

/** The name of the latest snapshot of the copy `name`'s file: its bytes from the start. */
export function liveSnapshotName(name: string): string {
  return `${name}.live`;
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
  private partsSinceSnapshot = 0;
  private snapshot?: string;
  private readonly timer: NodeJS.Timeout;
  private sending?: Promise<void>;
  private failed = false;

  constructor(
    private readonly copies: LogCopies,
    private readonly name: string,
    private readonly file: string,
    /** Told once, the first time a part could not be copied (later ticks try again). */
    private readonly onFailure: (why: string) => void,
    private readonly timing: LiveTiming = LIVE_TIMING,
  ) {
    this.timer = setInterval(() => this.tick(), timing.everyMs).unref();
  }

  /** Stops copying parts; resolves once none is under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sending;
  }

  /** Removes the parts and the snapshot copied (after stop); a failure leaves them to gc, with the run. */
  async removeParts(): Promise<void> {
    const names = this.snapshot ? [...this.parts, this.snapshot] : this.parts;
    if (names.length) await this.copies.remove(names).catch(() => undefined);
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
      const part = livePartName(this.name, this.sent);
      this.retryEnd = size;
      await this.copies.put(part, await this.read(this.sent, size));
      this.parts.push(part);
      this.sent = size;
      this.retryEnd = undefined;
    } catch (err) {
      if (this.failed) return;
      this.failed = true;
      this.onFailure((err as Error).message ?? String(err));
      return;
    }
    if (++this.partsSinceSnapshot < this.timing.snapshotEvery) return;
    // A snapshot that fails is only a shortcut missed: the parts have every byte.
    const snapshot = liveSnapshotName(this.name);
    const stored = await this.read(0, this.sent)
      .then((bytes) => this.copies.put(snapshot, bytes))
      .then(
        () => true,
        () => false,
      );
    if (!stored) return;
    this.snapshot = snapshot;
    this.partsSinceSnapshot = 0;
  }

  /** The file's bytes from `start` to `end`. */
  private async read(start: number, end: number): Promise<Buffer> {
    const bytes = Buffer.allocUnsafe(end - start);
    const handle = await open(this.file, "r");
    try {
      for (let got = 0, n; got < bytes.length; got += n) {
        n = (await handle.read(bytes, got, bytes.length - got, start + got)).bytesRead;
        if (!n) throw new Error(`${this.file} is shorter than ${end} bytes`);
      }
    } finally {
      await handle.close();
    }
    return bytes;
  }
}
