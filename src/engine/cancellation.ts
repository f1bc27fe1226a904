/**
 * Cancellation of one attempt. An AbortSignal (an EventTarget) costs tens of microseconds to make
 * and listen to, paid by every attempt of every step although few are ever cancelled; this keeps
 * plain callbacks and makes the AbortSignal only for a step that asks for `ctx.signal`.
 */
export class Cancellation {
  private why?: { reason: unknown };
  private controller?: AbortController;
  private hooks?: Set<(reason: unknown) => void>;

  get aborted(): boolean {
    return this.why !== undefined;
  }

  get reason(): unknown {
    return this.why?.reason;
  }

  /** An AbortSignal that follows this cancellation, made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.why) this.controller.abort(this.why.reason);
    }
    return this.controller.signal;
  }

  /** Calls `hook` once on abort (at once if already aborted); the returned function removes it. */
  onAbort(hook: (reason: unknown) => void): () => void {
    if (this.why) {
      hook(this.why.reason);
      return () => undefined;
    }
    (this.hooks ??= new Set()).add(hook);
    return () => void this.hooks?.delete(hook);
  }

  abort(reason: unknown): void {
    if (this.why) return;
    this.why = { reason };
    this.controller?.abort(reason);
    const hooks = this.hooks;
    this.hooks = undefined;
    if (hooks) for (const hook of hooks) hook(reason);
  }
}
