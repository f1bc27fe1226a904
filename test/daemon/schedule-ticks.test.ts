/**
 * Schedule evaluation on a frozen clock. Expected instants are written out by hand from the
 * zones' rules (America/Chicago: CST = UTC-6, CDT = UTC-5, 2019-03-10 02:00 -> 03:00 and
 * 2019-11-03 02:00 -> 01:00; Australia/Lord_Howe: +10:30 / +11, 2019-04-07 02:00 -> 01:30 and
 * 2019-10-06 02:00 -> 02:30) under the Debian cron convention: fixed-time jobs run once in a
 * repeated hour and right after a skipped one; wildcard-hour jobs follow the wall clock.
 */
import { describe, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledSchedule, type ScheduleSpec } from "../../src/core/triggers.js";
import { evaluateSchedule, upcomingTicks, type ScheduleCursor } from "../../src/daemon/schedule-ticks.js";

const MIN = 60_000;
const at = (iso: string) => Date.parse(iso);

function schedule(spec: ScheduleSpec<Record<string, never>>): CompiledSchedule {
  return compileTriggers(pipeline("dst").schedule("s", spec))[0] as CompiledSchedule;
}

interface DstCase {
  title: string;
  cron: string;
  timezone: string;
  from: string;
  to: string;
  /** Due ticks as UTC instants, with the wall clock each one shows (checked too). */
  expected: Array<[string, string]>;
}

const CASES: DstCase[] = [
  {
    title: "Chicago spring forward, hourly: 02:00 does not exist and is skipped",
    cron: "0 * * * *",
    timezone: "America/Chicago",
    from: "2019-03-10T05:30:00Z",
    to: "2019-03-10T10:30:00Z",
    expected: [
      ["2019-03-10T06:00:00Z", "2019-03-10 00:00 CST"],
      ["2019-03-10T07:00:00Z", "2019-03-10 01:00 CST"],
      ["2019-03-10T08:00:00Z", "2019-03-10 03:00 CDT"],
      ["2019-03-10T09:00:00Z", "2019-03-10 04:00 CDT"],
      ["2019-03-10T10:00:00Z", "2019-03-10 05:00 CDT"],
    ],
  },
  {
    title: "Chicago spring forward, daily 02:30: runs right after the gap, at 03:00 CDT",
    cron: "30 2 * * *",
    timezone: "America/Chicago",
    from: "2019-03-09T00:00:00Z",
    to: "2019-03-12T00:00:00Z",
    expected: [
      ["2019-03-09T08:30:00Z", "2019-03-09 02:30 CST"],
      ["2019-03-10T08:00:00Z", "2019-03-10 03:00 CDT"],
      ["2019-03-11T07:30:00Z", "2019-03-11 02:30 CDT"],
    ],
  },
  {
    title: "Chicago spring forward, a list of fixed hours (30 2,14): fixed-time as in Debian cron, runs after the gap",
    cron: "30 2,14 * * *",
    timezone: "America/Chicago",
    from: "2019-03-09T12:00:00Z",
    to: "2019-03-11T12:00:00Z",
    expected: [
      ["2019-03-09T20:30:00Z", "2019-03-09 14:30 CST"],
      ["2019-03-10T08:00:00Z", "2019-03-10 03:00 CDT"],
      ["2019-03-10T19:30:00Z", "2019-03-10 14:30 CDT"],
      ["2019-03-11T07:30:00Z", "2019-03-11 02:30 CDT"],
    ],
  },
  {
    title: "Chicago fall back, hourly: 01:00 runs in CDT and again in CST",
    cron: "0 * * * *",
    timezone: "America/Chicago",
    from: "2019-11-03T04:30:00Z",
    to: "2019-11-03T09:30:00Z",
    expected: [
      ["2019-11-03T05:00:00Z", "2019-11-03 00:00 CDT"],
      ["2019-11-03T06:00:00Z", "2019-11-03 01:00 CDT"],
      ["2019-11-03T07:00:00Z", "2019-11-03 01:00 CST"],
      ["2019-11-03T08:00:00Z", "2019-11-03 02:00 CST"],
      ["2019-11-03T09:00:00Z", "2019-11-03 03:00 CST"],
    ],
  },
  {
    title: "Chicago fall back, daily 01:30: runs once, in the first pass of the repeated hour",
    cron: "30 1 * * *",
    timezone: "America/Chicago",
    from: "2019-11-02T00:00:00Z",
    to: "2019-11-05T00:00:00Z",
    expected: [
      ["2019-11-02T06:30:00Z", "2019-11-02 01:30 CDT"],
      ["2019-11-03T06:30:00Z", "2019-11-03 01:30 CDT"],
      ["2019-11-04T07:30:00Z", "2019-11-04 01:30 CST"],
    ],
  },
  {
    title: "Lord Howe spring forward (30 min), hourly: 02:00 does not exist and is skipped",
    cron: "0 * * * *",
    timezone: "Australia/Lord_Howe",
    from: "2019-10-05T13:00:00Z",
    to: "2019-10-05T17:10:00Z",
    expected: [
      ["2019-10-05T13:30:00Z", "2019-10-06 00:00 GMT+10:30"],
      ["2019-10-05T14:30:00Z", "2019-10-06 01:00 GMT+10:30"],
      ["2019-10-05T16:00:00Z", "2019-10-06 03:00 GMT+11"],
      ["2019-10-05T17:00:00Z", "2019-10-06 04:00 GMT+11"],
    ],
  },
  {
    title: "Lord Howe spring forward, daily 02:15: runs right after the gap, at 02:30",
    cron: "15 2 * * *",
    timezone: "Australia/Lord_Howe",
    from: "2019-10-04T00:00:00Z",
    to: "2019-10-07T00:00:00Z",
    expected: [
      ["2019-10-04T15:45:00Z", "2019-10-05 02:15 GMT+10:30"],
      ["2019-10-05T15:30:00Z", "2019-10-06 02:30 GMT+11"],
      ["2019-10-06T15:15:00Z", "2019-10-07 02:15 GMT+11"],
    ],
  },
  {
    title: "Lord Howe fall back, hourly: wall-clock hours, 1.5 h apart across the change",
    cron: "0 * * * *",
    timezone: "Australia/Lord_Howe",
    from: "2019-04-06T12:30:00Z",
    to: "2019-04-06T16:40:00Z",
    expected: [
      ["2019-04-06T13:00:00Z", "2019-04-07 00:00 GMT+11"],
      ["2019-04-06T14:00:00Z", "2019-04-07 01:00 GMT+11"],
      ["2019-04-06T15:30:00Z", "2019-04-07 02:00 GMT+10:30"],
      ["2019-04-06T16:30:00Z", "2019-04-07 03:00 GMT+10:30"],
    ],
  },
  {
    title: "Lord Howe fall back, every 30 min: 01:30 runs in both passes",
    cron: "*/30 * * * *",
    timezone: "Australia/Lord_Howe",
    from: "2019-04-06T14:10:00Z",
    to: "2019-04-06T15:40:00Z",
    expected: [
      ["2019-04-06T14:30:00Z", "2019-04-07 01:30 GMT+11"],
      ["2019-04-06T15:00:00Z", "2019-04-07 01:30 GMT+10:30"],
      ["2019-04-06T15:30:00Z", "2019-04-07 02:00 GMT+10:30"],
    ],
  },
  {
    title: "Lord Howe fall back, daily 01:45: runs once, in the first pass",
    cron: "45 1 * * *",
    timezone: "Australia/Lord_Howe",
    from: "2019-04-05T00:00:00Z",
    to: "2019-04-08T00:00:00Z",
    expected: [
      ["2019-04-05T14:45:00Z", "2019-04-06 01:45 GMT+11"],
      ["2019-04-06T14:45:00Z", "2019-04-07 01:45 GMT+11"],
      ["2019-04-07T15:15:00Z", "2019-04-08 01:45 GMT+10:30"],
    ],
  },
];

describe("schedule ticks across daylight saving (frozen clock)", () => {
  for (const c of CASES) {
    it(c.title, () => {
      const s = schedule({ cron: c.cron, timezone: c.timezone, catchUp: "all", maxCatchUp: 1000 });
      const cursor: ScheduleCursor = { evaluatedUntil: at(c.from) };
      const once = evaluateSchedule(s, cursor, at(c.to));
      expect(once.due.map((t) => [new Date(t.at).toISOString().replace(".000", ""), t.local])).toEqual(c.expected);
      expect(once.skipped).toEqual([]);
      expect(once.cursor).toEqual({ evaluatedUntil: at(c.to) });
      // Idempotence: the same cursor and the same clock give the same ticks and keys.
      expect(evaluateSchedule(s, cursor, at(c.to))).toEqual(once);

      // Minute by minute, carrying the cursor: the same set of ticks, none twice.
      const seen: number[] = [];
      let step = cursor;
      for (let now = at(c.from) + MIN; now <= at(c.to); now += MIN) {
        const r = evaluateSchedule(s, step, now);
        seen.push(...r.due.map((t) => t.at));
        step = r.cursor;
      }
      expect(seen).toEqual(once.due.map((t) => t.at));

      // catchUp "latest" over the same downtime: the most recent tick only; the rest recorded as skipped.
      const latest = evaluateSchedule({ ...s, catchUp: "latest" }, cursor, at(c.to));
      expect(latest.due.map((t) => t.at)).toEqual([once.due[once.due.length - 1].at]);
      const earlier = once.due.slice(0, -1).map((t) => [t.at, "catch-up-limit"]);
      expect(latest.skipped.map((t) => [t.at, t.reason])).toEqual(earlier);
      expect(evaluateSchedule({ ...s, catchUp: "latest" }, cursor, at(c.to))).toEqual(latest);
    });
  }
});

describe("schedule catch-up, start and end", () => {
  const hourly = (extra: Partial<ScheduleSpec<Record<string, never>>> = {}) =>
    schedule({ cron: "0 * * * *", ...extra });

  it("starts a new schedule at now: nothing from the past fires on its first evaluation", () => {
    const r = evaluateSchedule(hourly(), undefined, at("2026-01-01T10:30:00Z"));
    expect(r.due).toEqual([]);
    expect(r.cursor.evaluatedUntil).toBe(at("2026-01-01T10:30:00Z"));
    expect(r.nextTick).toBe(at("2026-01-01T11:00:00Z"));
  });

  it("runs at most maxCatchUp missed ticks with catchUp all, the most recent, and records the others", () => {
    const s = hourly({ catchUp: "all", maxCatchUp: 2 });
    const r = evaluateSchedule(s, { evaluatedUntil: at("2026-01-01T05:00:00Z") }, at("2026-01-01T09:10:00Z"));
    expect(r.due.map((t) => new Date(t.at).getUTCHours())).toEqual([8, 9]);
    expect(r.skipped.map((t) => [new Date(t.at).getUTCHours(), t.reason])).toEqual([
      [6, "catch-up-limit"],
      [7, "catch-up-limit"],
    ]);
    expect(r.due[0].key).toBe("schedule:s@2026-01-01T08:00:00.000Z");
    expect(r.due[1].reason).toContain("late");
  });

  it("skips late ticks with catchUp none, and runs the on-time one", () => {
    const s = hourly({ catchUp: "none", lateAfter: "2m" });
    const late = evaluateSchedule(s, { evaluatedUntil: at("2026-01-01T05:00:00Z") }, at("2026-01-01T07:30:00Z"));
    expect(late.due).toEqual([]);
    expect(late.skipped.map((t) => t.reason)).toEqual(["late", "late"]);
    const onTime = evaluateSchedule(s, { evaluatedUntil: at("2026-01-01T07:59:00Z") }, at("2026-01-01T08:01:00Z"));
    expect(onTime.due.map((t) => t.at)).toEqual([at("2026-01-01T08:00:00Z")]);
  });

  it("starts at `start` inclusive, records ticks before it and after `end`, and finishes", () => {
    const s = hourly({ catchUp: "all", maxCatchUp: 10, start: "2026-01-01T03:00:00Z", end: "2026-01-01T05:00:00Z" });
    const first = evaluateSchedule(s, undefined, at("2026-01-01T04:30:00Z"));
    expect(first.due.map((t) => new Date(t.at).getUTCHours())).toEqual([3, 4]);
    const r = evaluateSchedule(s, { evaluatedUntil: at("2026-01-01T01:30:00Z") }, at("2026-01-01T07:30:00Z"));
    expect(r.due.map((t) => new Date(t.at).getUTCHours())).toEqual([3, 4, 5]);
    expect(r.skipped.map((t) => [new Date(t.at).getUTCHours(), t.reason])).toEqual([
      [2, "before-start"],
      [6, "after-end"],
      [7, "after-end"],
    ]);
    expect(r.finished).toBe(true);
    expect(r.nextTick).toBeUndefined();
  });

  it("decides nothing again when the clock steps back behind the cursor", () => {
    const s = hourly({ catchUp: "all" });
    const r = evaluateSchedule(s, { evaluatedUntil: at("2026-01-01T09:30:00Z") }, at("2026-01-01T08:30:00Z"));
    expect(r.due).toEqual([]);
    expect(r.cursor.evaluatedUntil).toBe(at("2026-01-01T09:30:00Z"));
  });

  it("summarises a long downtime instead of listing every tick, keeping the most recent across a DST change", () => {
    const s = schedule({ cron: "0 * * * *", timezone: "America/Chicago", catchUp: "all", maxCatchUp: 4 });
    const t0 = performance.now();
    const r = evaluateSchedule(s, { evaluatedUntil: at("2019-09-01T00:00:00Z") }, at("2019-11-03T08:30:00Z"));
    console.log(`62 days of hourly ticks evaluated in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(r.due.map((t) => t.local)).toEqual([
      "2019-11-03 00:00 CDT",
      "2019-11-03 01:00 CDT",
      "2019-11-03 01:00 CST",
      "2019-11-03 02:00 CST",
    ]);
    expect(r.skippedRanges).toHaveLength(1);
    expect(r.skippedRanges[0].reason).toBe("catch-up-limit");
    expect(r.skipped.length).toBe(1000);
    expect(evaluateSchedule(s, { evaluatedUntil: at("2019-09-01T00:00:00Z") }, at("2019-11-03T08:30:00Z"))).toEqual(r);
  });

  it("reads a 6-field cron with seconds first: ticks every 2 s, shown with their seconds", () => {
    const s = schedule({ cron: "*/2 * * * * *", catchUp: "all", maxCatchUp: 3 });
    const r = evaluateSchedule(s, { evaluatedUntil: at("2026-01-01T10:00:00.500Z") }, at("2026-01-01T10:00:09.100Z"));
    // Ticks at :02 :04 :06 :08 are missed; maxCatchUp 3 runs the most recent three.
    expect(r.due.map((t) => t.local)).toEqual([
      "2026-01-01 10:00:04 UTC",
      "2026-01-01 10:00:06 UTC",
      "2026-01-01 10:00:08 UTC",
    ]);
    expect(r.skipped.map((t) => [t.at, t.reason])).toEqual([[at("2026-01-01T10:00:02Z"), "catch-up-limit"]]);
    expect(r.nextTick).toBe(at("2026-01-01T10:00:10Z"));
    expect(upcomingTicks(s, at("2026-01-01T10:00:09Z"), 2)).toEqual([
      at("2026-01-01T10:00:10Z"),
      at("2026-01-01T10:00:12Z"),
    ]);
  });

  it("keeps the most recent second-granularity ticks of a downtime too long to list", () => {
    const s = schedule({ cron: "*/2 * * * * *", catchUp: "all", maxCatchUp: 2 });
    const r = evaluateSchedule(s, { evaluatedUntil: at("2026-01-01T00:00:00Z") }, at("2026-01-01T02:00:01.500Z"));
    expect(r.due.map((t) => t.at)).toEqual([at("2026-01-01T01:59:58Z"), at("2026-01-01T02:00:00Z")]);
    expect(r.skippedRanges).toHaveLength(1);
  });

  it("lists the upcoming ticks within the schedule's end", () => {
    const s = schedule({ cron: "30 2 * * *", timezone: "America/Chicago", end: "2019-03-11T12:00:00Z" });
    expect(upcomingTicks(s, at("2019-03-09T00:00:00Z"), 5)).toEqual([
      at("2019-03-09T08:30:00Z"),
      at("2019-03-10T08:00:00Z"),
      at("2019-03-11T07:30:00Z"),
    ]);
  });
});
