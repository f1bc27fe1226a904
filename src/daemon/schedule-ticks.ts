/**
 * Which ticks of a schedule are due: a pure function of the schedule, the cursor (the last
 * instant already evaluated) and "now", so the daemon can run it on a frozen clock, store the
 * new cursor with the ticks in one transaction, and get the same answer when it re-evaluates.
 */
import type { Cron } from "croner";
import type { CompiledSchedule } from "../core/triggers.js";
import { cronHasSeconds, cronMatcher, formatInZone } from "../core/trigger-time.js";

export interface ScheduleCursor {
  /** Every tick at or before this instant (epoch ms) has been decided. */
  evaluatedUntil: number;
}

export interface ScheduledTick {
  /** The tick's instant, epoch ms. */
  at: number;
  /** Unique per (schedule, tick): the daemon's idempotency key for the tick and its run. */
  key: string;
  /** The tick as the schedule's wall clock shows it, e.g. "2019-03-10 03:00 CDT". */
  local: string;
  params: Record<string, unknown>;
  profile?: string;
  reason: string;
}

export type SkipReason = "catch-up-limit" | "late" | "before-start" | "after-end";

export interface SkippedTick {
  at: number;
  key: string;
  local: string;
  reason: SkipReason;
  message: string;
}

/** Ticks too many to list one by one (a long downtime), summarised as one range. */
export interface SkippedRange {
  from: number;
  to: number;
  reason: SkipReason;
  message: string;
}

export interface ScheduleEvaluation {
  /** Ticks to request runs for, oldest first. */
  due: ScheduledTick[];
  skipped: SkippedTick[];
  skippedRanges: SkippedRange[];
  cursor: ScheduleCursor;
  /** The first tick after now (within `end`), for status and `triggers list`. */
  nextTick?: number;
  /** The schedule's end has passed: no tick will ever be due again. */
  finished: boolean;
}

/** Ticks listed one by one per evaluation; beyond this a downtime's ticks are summarised. */
const LIST_LIMIT = 1000;

const matchers = new Map<string, Cron>();

function matcherOf(s: CompiledSchedule): Cron {
  const id = `${s.cron}\u0000${s.timezone}`;
  let m = matchers.get(id);
  if (!m) {
    m = cronMatcher(s.name, s.cron, s.timezone);
    matchers.set(id, m);
  }
  return m;
}

/**
 * The ticks after the cursor and at or before `now`. Without a cursor the schedule starts at
 * `start` (inclusive) when it has one, else at `now`: a new schedule does not fire for the past.
 */
export function evaluateSchedule(
  s: CompiledSchedule,
  cursor: ScheduleCursor | undefined,
  now: number,
): ScheduleEvaluation {
  const after = cursor?.evaluatedUntil ?? (s.start !== undefined ? s.start - 1 : now);
  // The cursor never moves back: a clock that stepped backwards re-decides nothing.
  const until = Math.max(after, now);
  const cron = matcherOf(s);
  const listed = ticksBetween(cron, after, now, LIST_LIMIT + 1);
  const overflow = listed.length > LIST_LIMIT;
  if (overflow) listed.pop();
  const inRange = (t: number) => (s.start === undefined || t >= s.start) && (s.end === undefined || t <= s.end);
  let candidates = listed.filter(inRange);
  const skipped: SkippedTick[] = [];
  const skippedRanges: SkippedRange[] = [];
  for (const t of listed) {
    if (inRange(t)) continue;
    const before = s.start !== undefined && t < s.start;
    skipped.push(
      before
        ? skipTick(s, t, "before-start", `before the schedule's start ${formatInZone(s.start!, s.timezone)}`)
        : skipTick(s, t, "after-end", `after the schedule's end ${formatInZone(s.end!, s.timezone)}`),
    );
  }
  if (overflow) {
    // Only the most recent ticks can run under any policy: fetch them from the end of the window.
    const tail = recentTicks(cron, after, Math.min(now, s.end ?? now), keepCount(s)).filter(inRange);
    const lastListed = listed[listed.length - 1];
    const rangeEnd = tail.length ? tail[0] : now;
    skippedRanges.push({
      from: lastListed,
      to: rangeEnd,
      reason: s.catchUp === "none" ? "late" : "catch-up-limit",
      message:
        `more than ${LIST_LIMIT} ticks were missed; the ones after ${formatInZone(lastListed, s.timezone)}` +
        ` and before ${formatInZone(rangeEnd, s.timezone)} are not listed and do not run (catchUp "${s.catchUp}")`,
    });
    candidates = [...candidates, ...tail.filter((t) => t > lastListed)];
  }
  const due: ScheduledTick[] = [];
  candidates.forEach((t, i) => {
    const fromEnd = candidates.length - 1 - i;
    const late = now - t > s.lateAfterMs;
    if (s.catchUp === "none" && late) {
      const message = `evaluated ${describeDelay(now - t)} after its time; catchUp "none" runs no missed tick`;
      skipped.push(skipTick(s, t, "late", message));
    } else if (s.catchUp === "latest" && fromEnd > 0) {
      const message = `a later tick was also missed; catchUp "latest" runs only the most recent`;
      skipped.push(skipTick(s, t, "catch-up-limit", message));
    } else if (s.catchUp === "all" && fromEnd >= s.maxCatchUp) {
      const message = `beyond maxCatchUp ${s.maxCatchUp}: only the most recent missed ticks run`;
      skipped.push(skipTick(s, t, "catch-up-limit", message));
    } else {
      due.push(dueTick(s, t, late ? `caught up ${describeDelay(now - t)} late` : "on time"));
    }
  });
  skipped.sort((a, b) => a.at - b.at);
  const next = ticksBetween(cron, until, Number.POSITIVE_INFINITY, 1)[0];
  const nextTick = next !== undefined && (s.end === undefined || next <= s.end) ? next : undefined;
  const finished = s.end !== undefined && until >= s.end;
  return { due, skipped, skippedRanges, cursor: { evaluatedUntil: until }, nextTick, finished };
}

/** The next `count` ticks strictly after `from`, for `triggers list` and previews. */
export function upcomingTicks(s: CompiledSchedule, from: number, count: number): number[] {
  const start = s.start !== undefined ? Math.max(from, s.start - 1) : from;
  return ticksBetween(matcherOf(s), start, s.end ?? Number.POSITIVE_INFINITY, count);
}

/** The idempotency key of a tick: one per (schedule, instant), however often it is evaluated. */
export function tickKey(scheduleName: string, at: number): string {
  return `schedule:${scheduleName}@${new Date(at).toISOString()}`;
}

function keepCount(s: CompiledSchedule): number {
  return s.catchUp === "all" ? s.maxCatchUp : 1;
}

/** Ticks in (after, until], oldest first, at most `limit`. */
function ticksBetween(cron: Cron, after: number, until: number, limit: number): number[] {
  const out: number[] = [];
  let cursor = new Date(after);
  while (out.length < limit) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > until) break;
    out.push(next.getTime());
    cursor = next;
  }
  return out;
}

/** The last `count` ticks in (after, until], oldest first. */
function recentTicks(cron: Cron, after: number, until: number, count: number): number[] {
  // previousRuns excludes its reference instant; ticks fall on whole seconds, so one second later includes
  // `until` (and at most one tick after it, hence one more asked for).
  const runs = cron.previousRuns(count + 1, new Date(until + 1000)).map((d) => d.getTime());
  return runs
    .filter((t) => t > after && t <= until)
    .sort((a, b) => a - b)
    .slice(-count);
}

function dueTick(s: CompiledSchedule, at: number, timing: string): ScheduledTick {
  const local = formatInZone(at, s.timezone, cronHasSeconds(s.cron));
  return {
    at,
    key: tickKey(s.name, at),
    local,
    params: { ...s.params },
    profile: s.profile,
    reason: `schedule "${s.name}" (${s.cron}, ${s.timezone}) tick ${local}, ${timing}`,
  };
}

function skipTick(s: CompiledSchedule, at: number, reason: SkipReason, message: string): SkippedTick {
  return { at, key: tickKey(s.name, at), local: formatInZone(at, s.timezone, cronHasSeconds(s.cron)), reason, message };
}

function describeDelay(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}
