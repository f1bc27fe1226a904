/**
 * How a long-lived process (the daemon, the model server) reports work that fails every time round
 * its loop: a full disk or a store that went away fails a write every few hundred milliseconds, for
 * hours. Each kind of work says so once, with the error's hint; then once a minute, with how often
 * it failed since; and once more when it works again. A line per failure would fill the very disk
 * whose fullness it reports.
 */
import { describeError } from "./errors.js";

/** How often work failing time after time says so again. */
export const REPEAT_REPORT_MS = 60_000;

export class RepeatedFailures {
  /** Work failing now, by name: when it first failed, when it last said so, how often since. */
  private readonly failing = new Map<string, { since: number; saidAt: number; unsaid: number }>();

  constructor(
    private readonly say: (line: string) => void,
    private readonly everyMs = REPEAT_REPORT_MS,
  ) {}

  failed(what: string, err: unknown, now = Date.now()): void {
    const info = describeError(err);
    const failing = this.failing.get(what);
    if (!failing) {
      this.failing.set(what, { since: now, saidAt: now, unsaid: 0 });
      this.say(`${what} failed: ${info.message}${info.hint ? ` (${info.hint})` : ""}`);
    } else if (now - failing.saidAt >= this.everyMs) {
      const since = new Date(failing.since).toISOString();
      this.say(`${what} still failing (${failing.unsaid + 1} more times since ${since}): ${info.message}`);
      Object.assign(failing, { saidAt: now, unsaid: 0 });
    } else failing.unsaid++;
  }

  succeeded(what: string, now = Date.now()): void {
    const failing = this.failing.get(what);
    if (!failing) return;
    this.failing.delete(what);
    this.say(`${what} recovered after ${seconds(now - failing.since)} of failures`);
  }
}

/** A span as people read it: seconds to two minutes, then minutes. */
export function seconds(ms: number): string {
  return ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}
