/**
 * A reader that stopped early (`trainyard runs | head`) has seen all it wanted: when stdout's pipe
 * closes, further output is dropped quietly instead of ending in an EPIPE stack trace.
 */
let closed = false;

/** True once stdout's reader has gone; long outputs (logs) stop producing lines. */
export function outputClosed(): boolean {
  return closed;
}

export function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      closed ||= stream === process.stdout;
      // Writes after the close succeed silently; a writer waiting for "drain" is released.
      stream.write = ((_chunk: unknown, a?: unknown, b?: unknown) => {
        const done = typeof a === "function" ? a : b;
        if (typeof done === "function") process.nextTick(done as () => void);
        return true;
      }) as typeof stream.write;
      stream.emit("drain");
    });
  }
}
