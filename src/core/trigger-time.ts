/**
 * Time values in trigger declarations: durations ("30s", "5m"), instants with an explicit offset,
 * IANA time zones and cron patterns (5 fields, or 6 with seconds first). Each parser names the trigger and
 * field it rejects.
 */
import { Cron } from "croner";
import { TrainyardError } from "./errors.js";

/** A length of time: milliseconds as a number, or a string such as "500ms", "30s", "5m", "2h", "1d". */
export type Duration = number | `${number}${"ms" | "s" | "m" | "h" | "d"}`;

/** An instant: a Date, epoch milliseconds, or an ISO 8601 string with `Z` or an offset. */
export type Instant = Date | number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function triggerInvalid(trigger: string, field: string, message: string, hint = ""): TrainyardError {
  return new TrainyardError("TRIGGER_INVALID", `trigger "${trigger}": ${field} ${message}`, {
    trigger,
    field,
    hint: hint || undefined,
  });
}

export function parseDuration(trigger: string, field: string, value: Duration): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim()) : null;
  if (!m) {
    throw triggerInvalid(
      trigger,
      field,
      `is not a duration: ${JSON.stringify(value)}`,
      'write a number of milliseconds or a string such as "500ms", "30s", "5m", "2h" or "1d"',
    );
  }
  return Number(m[1]) * UNIT_MS[m[2]];
}

export function parseInstant(trigger: string, field: string, value: Instant): number {
  let ms = NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === "number") ms = value;
  // A wall-clock string without an offset is ambiguous across daylight saving, so it is refused.
  else if (typeof value === "string" && /(Z|[+-]\d\d:?\d\d)$/i.test(value.trim())) ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw triggerInvalid(
      trigger,
      field,
      `is not an instant with a time zone offset: ${JSON.stringify(value)}`,
      'write an ISO 8601 time with Z or an offset, such as "2026-01-01T00:00:00Z" or "2026-01-01T00:00:00-06:00"',
    );
  }
  return ms;
}

export function checkTimeZone(trigger: string, timezone: string): string {
  try {
    // Intl knows the IANA database of this Node build; croner would silently fall back.
    return new Intl.DateTimeFormat("en-US", { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    throw triggerInvalid(
      trigger,
      "timezone",
      `"${timezone}" is not a known IANA time zone`,
      'use a name such as "UTC", "America/Chicago" or "Europe/Paris" (see `Intl.supportedValuesOf("timeZone")`)',
    );
  }
}

/**
 * A cron matcher with the Debian cron convention for daylight saving: a job with a fixed minute
 * and hour runs once in a repeated hour and right after a skipped one; a job with a wildcard or
 * step in its minute or hour follows the wall clock (skips a missing time, repeats a doubled one).
 */
export function cronMatcher(trigger: string, cron: string, timezone: string): Cron {
  const fields = typeof cron === "string" ? cron.trim().split(/\s+/).length : 0;
  if (fields !== 5 && fields !== 6) {
    const got = JSON.stringify(cron);
    throw triggerInvalid(
      trigger,
      "cron",
      `must have 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${got}`,
      'for example "0 2 * * *" (02:00 every day), "*/15 * * * *" (every 15 minutes) or "*/10 * * * * *" (every 10 s)',
    );
  }
  try {
    const mode = fields === 6 ? "6-part" : "5-part";
    return new Cron(cron.trim(), { timezone, paused: true, mode, fixedTimeRule: "no-wildcard" });
  } catch (err) {
    const why = (err as Error).message.replace(/^CronPattern: /, "");
    const secondsField = fields === 6 ? "second (0-59), " : "";
    throw triggerInvalid(
      trigger,
      "cron",
      `"${cron}" is not valid: ${why}`,
      `fields are ${secondsField}minute (0-59), hour (0-23), day of month (1-31), month (1-12),` +
        " day of week (0-6, 0 = Sunday)",
    );
  }
}

/** True for a 6-field pattern: its ticks fall on seconds, so they are shown with seconds. */
export function cronHasSeconds(cron: string): boolean {
  return cron.trim().split(/\s+/).length === 6;
}

/** "2019-03-10 03:00 CDT": an instant as the wall clock of a zone shows it, with the zone's abbreviation. */
export function formatInZone(ms: number, timezone: string, withSeconds = false): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined,
    hourCycle: "h23",
    timeZoneName: "short",
  }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const time = `${get("hour")}:${get("minute")}${withSeconds ? `:${get("second")}` : ""}`;
  return `${get("year")}-${get("month")}-${get("day")} ${time} ${get("timeZoneName")}`;
}
