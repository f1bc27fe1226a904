/**
 * One evaluation of a function sensor: call the user's `evaluate` with its own cursor, the
 * clock and the last run it started, and turn the keyed requests it returns into run requests.
 * A key already requested (in this result or recently) is deduplicated with the reason; a function
 * that throws or returns something malformed is a failed evaluation naming the trigger.
 */
import { isTrainyardError, TrainyardError } from "../core/errors.js";
import type { CompiledFunctionSensor, FunctionSensorResult, LastRunInfo } from "../core/triggers.js";
import { canonical, type EventEvaluation, type EventNote, type EventRunRequest } from "./event-request.js";

export interface FunctionSensorCursor {
  v: 1;
  /** The function's own cursor, as it returned it. */
  user?: unknown;
  /** Keys requested lately, oldest first: a function that returns one again is not run twice. */
  recentKeys: string[];
}

/** Keys remembered for deduplication; the daemon's tick ledger keeps every key for good. */
const RECENT_KEYS = 1_000;
const MAX_KEY_CHARS = 256;

export async function evaluateFunctionSensor(
  sensor: CompiledFunctionSensor,
  previous: FunctionSensorCursor | undefined,
  now: number,
  lastRun: LastRunInfo | undefined,
): Promise<EventEvaluation<FunctionSensorCursor>> {
  let result: FunctionSensorResult<Record<string, unknown>> | undefined;
  try {
    result = await sensor.evaluate({ cursor: previous?.user, now: new Date(now), lastRun, trigger: sensor.name });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new TrainyardError("TRIGGER_FAILED", `sensor "${sensor.name}": its evaluate function threw: ${why}`, {
      trigger: sensor.name,
      hint: "fix the function; the daemon records the failure and evaluates it again with backoff",
      cause: err,
    });
  }
  const checked = checkResult(sensor, result);
  const recent = new Set(previous?.recentKeys ?? []);
  const keys = [...(previous?.recentKeys ?? [])];
  const requests: EventRunRequest[] = [];
  const notes: EventNote[] = [];
  const repeated: string[] = [];
  for (const r of checked.requests ?? []) {
    if (recent.has(r.key)) {
      repeated.push(r.key);
      continue;
    }
    recent.add(r.key);
    keys.push(r.key);
    const params = { ...sensor.params, ...(r.params ?? {}) };
    const profile = r.profile ?? sensor.profile;
    checkParams(sensor, r.key, params, profile);
    requests.push({
      key: `sensor:${sensor.name}:${r.key}`,
      params,
      profile,
      reason: `sensor "${sensor.name}": ${r.reason ?? `the function returned key "${r.key}"`}`,
      event: { key: r.key },
    });
  }
  if (repeated.length) {
    const list =
      repeated
        .slice(0, 5)
        .map((k) => `"${k}"`)
        .join(", ") + (repeated.length > 5 ? ", …" : "");
    notes.push({ kind: "duplicate-key", message: `key(s) ${list} already requested: no run for them` });
  }
  if (!requests.length && checked.skipReason) notes.push({ kind: "function-skip", message: checked.skipReason });
  const user = checked.cursor === undefined ? previous?.user : checked.cursor;
  return { requests, notes, cursor: { v: 1, user, recentKeys: keys.slice(-RECENT_KEYS) } };
}

function checkResult(sensor: CompiledFunctionSensor, result: unknown): FunctionSensorResult<Record<string, unknown>> {
  const bad = (why: string) =>
    new TrainyardError("TRIGGER_FAILED", `sensor "${sensor.name}": its evaluate function returned ${why}`, {
      trigger: sensor.name,
      hint: "return { requests: [{ key, params?, reason? }], cursor? } (or nothing when there is no event)",
    });
  if (result === undefined || result === null) return {};
  if (typeof result !== "object" || Array.isArray(result)) return fail(bad(`${describe(result)}, not an object`));
  const r = result as FunctionSensorResult<Record<string, unknown>>;
  if (r.requests !== undefined && !Array.isArray(r.requests)) return fail(bad("`requests` that is not a list"));
  for (const [i, q] of (r.requests ?? []).entries()) {
    if (typeof q !== "object" || q === null) return fail(bad(`request ${i} that is ${describe(q)}`));
    if (typeof q.key !== "string" || q.key.trim() === "" || q.key.length > MAX_KEY_CHARS) {
      return fail(bad(`request ${i} without a key (a non-empty string of at most ${MAX_KEY_CHARS} characters)`));
    }
    if (q.params !== undefined && (typeof q.params !== "object" || q.params === null || Array.isArray(q.params))) {
      return fail(bad(`request "${q.key}" whose params are not an object`));
    }
  }
  if (r.cursor !== undefined) {
    try {
      canonical(r.cursor);
    } catch (err) {
      return fail(bad(`a cursor that is not JSON (${(err as Error).message})`));
    }
    if (typeof r.cursor === "function" || typeof r.cursor === "symbol") return fail(bad("a cursor that is not JSON"));
  }
  return r;
}

function checkParams(
  sensor: CompiledFunctionSensor,
  key: string,
  params: Record<string, unknown>,
  profile: string | undefined,
): void {
  try {
    sensor.checkParams(params, profile);
  } catch (err) {
    if (!isTrainyardError(err)) throw err;
    throw new TrainyardError(
      "TRIGGER_FAILED",
      `sensor "${sensor.name}": request "${key}" asks for an invalid run: ` + err.message,
      { trigger: sensor.name, param: err.fields.param, hint: err.hint, cause: err },
    );
  }
}

function fail(err: TrainyardError): never {
  throw err;
}

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "string" ? "a string" : `a ${typeof v}`;
}
