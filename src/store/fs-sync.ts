/**
 * Makes a batch of files durable with one syncfs(2) of their file system instead of an fsync per
 * file. On ext4 every fsync is a journal commit and a device flush (over a millisecond each
 * here), so a run of a thousand short steps spent longer syncing its outputs than running them;
 * one syncfs commits them all, directory entries included.
 *
 * Node has no syncfs, and forking the orchestrator for each call would cost more than it saves,
 * so a small long-lived shell runs coreutils' `sync -f` on request: one line in, one line
 * (`ok` or `fail`) out. When that is unavailable or fails, the caller falls back to fsync per file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

const SYNC = ["/usr/bin/sync", "/bin/sync"].find((p) => existsSync(p));
const LOOP = `while read -r _; do if "$1" -f -- "$2" 2>/dev/null; then echo ok; else echo fail; fi; done`;

export class FileSystemSync {
  private child?: ChildProcess;
  private broken = !SYNC || process.platform !== "linux";
  private waiting?: (ok: boolean) => void;
  private chain: Promise<unknown> = Promise.resolve();
  /** Flushes requested and not yet answered. */
  private inFlight = 0;
  private out = "";

  constructor(private readonly path: string) {}

  /**
   * Flushes the file system holding `path`; false when it could not (fall back to fsync). With
   * no flush in flight the request goes out at once, so the caller's work until its next await
   * overlaps the flush.
   */
  sync(): Promise<boolean> {
    const next = this.inFlight ? this.chain.then(() => this.once()) : this.once();
    this.inFlight++;
    const done = () => void this.inFlight--;
    next.then(done, done);
    this.chain = next;
    return next;
  }

  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private once(): Promise<boolean> {
    if (this.broken) return Promise.resolve(false);
    const child = this.start();
    return new Promise<boolean>((resolve) => {
      this.waiting = (ok) => {
        this.waiting = undefined;
        this.idle(child, true);
        if (!ok) this.broken = true;
        resolve(ok);
      };
      this.idle(child, false);
      child.stdin!.write("s\n");
    });
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn("/bin/sh", ["-c", LOOP, "trainyard-sync", SYNC!, this.path], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    child.stdin!.on("error", () => undefined);
    child.stdout!.on("data", (chunk: Buffer) => {
      this.out += chunk.toString("latin1");
      let nl: number;
      while ((nl = this.out.indexOf("\n")) >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.waiting?.(line === "ok");
      }
    });
    const gone = () => {
      if (this.child === child) this.child = undefined;
      this.broken = true;
      this.waiting?.(false);
    };
    child.on("error", gone);
    child.on("exit", gone);
    this.child = child;
    this.idle(child, true);
    return child;
  }

  /** An idle helper must not keep the process alive. */
  private idle(child: ChildProcess, idle: boolean): void {
    for (const h of [child, child.stdin, child.stdout] as Array<{ ref(): void; unref(): void } | null>) {
      if (idle) h?.unref();
      else h?.ref();
    }
  }
}
