/**
 * One evaluation of a SQL sensor: run the query, compare its result with the cursor and turn
 * what is new into keyed run requests. A result is new by its `cursorColumn` value, by the keys
 * of its rows (`keyColumn`), or else by the digest of all its rows; the same result again is a
 * deduplicated evaluation with the reason in words.
 */
import { isTrainyardError, TrainyardError } from "../core/errors.js";
import type { CompiledSqlSensor } from "../core/triggers.js";
import { canonical, digestOf, type EventEvaluation, type EventNote, type EventRunRequest } from "./event-request.js";
import { runSensorQuery, sqlLocation, type SqlResult } from "./sql-sensor-query.js";

export interface SqlSensorCursor {
  v: 1;
  /** cursorColumn mode: the last value seen, as canonical JSON. */
  value?: string;
  /** keyColumn mode: the keys of the last result, as canonical JSON. */
  keys?: string[];
  /** digest mode: the digest of the last non-empty result. */
  digest?: string;
}

/** Values shown in reasons are cut to this many characters. */
const SHOWN_CHARS = 80;

export async function evaluateSqlSensor(
  sensor: CompiledSqlSensor,
  previous: SqlSensorCursor | undefined,
  moduleDir: string,
): Promise<EventEvaluation<SqlSensorCursor>> {
  const result = await runSensorQuery(sensor, moduleDir);
  const where = sqlLocation(sensor, moduleDir);
  for (const column of [sensor.cursorColumn, sensor.keyColumn, ...Object.values(sensor.paramsFrom)]) {
    if (column !== undefined && !result.columns.includes(column)) {
      const message = `sensor "${sensor.name}": the query's result has no column "${column}"`;
      throw new TrainyardError("TRIGGER_FAILED", message, {
        trigger: sensor.name,
        column,
        hint: `its columns: ${result.columns.join(", ") || "(none)"}; name the column with AS in the query`,
      });
    }
  }
  if (sensor.cursorColumn) return byCursorColumn(sensor, sensor.cursorColumn, result, previous, where);
  if (sensor.keyColumn) return byKeyColumn(sensor, sensor.keyColumn, result, previous, where);
  return byDigest(sensor, result, previous, where);
}

function byCursorColumn(
  sensor: CompiledSqlSensor,
  column: string,
  result: SqlResult,
  previous: SqlSensorCursor | undefined,
  where: string,
): EventEvaluation<SqlSensorCursor> {
  const row = result.rows[0];
  const cursor: SqlSensorCursor = { v: 1, value: previous?.value };
  if (!row || row[column] === null) {
    const what = row ? `${column} is null` : "the query returned no rows";
    return { requests: [], notes: [{ kind: "no-result", message: `${what}: no run` }], cursor };
  }
  const value = canonical(row[column]);
  if (previous?.value === value) {
    const message = `the query returned ${column} = ${shown(value)} again (same result as before): no run`;
    return { requests: [], notes: [{ kind: "same-result", message }], cursor };
  }
  const was = previous?.value === undefined ? "first result" : `was ${shown(previous.value)}`;
  const request = {
    key: `sensor:${sensor.name}:${digestOf(value)}`,
    ...paramsOf(sensor, row),
    reason: `sensor "${sensor.name}": ${column} changed to ${shown(value)} (${was}) in ${where}`,
    event: { engine: sensor.engine, column, value: row[column], previous: previous?.value, rows: result.rows.length },
  };
  return { requests: [request], notes: [], cursor: { v: 1, value } };
}

function byKeyColumn(
  sensor: CompiledSqlSensor,
  column: string,
  result: SqlResult,
  previous: SqlSensorCursor | undefined,
  where: string,
): EventEvaluation<SqlSensorCursor> {
  const seen = new Set(previous?.keys ?? []);
  const keys: string[] = [];
  const requests: EventRunRequest[] = [];
  let nulls = 0;
  for (const row of result.rows) {
    if (row[column] === null) {
      nulls++;
      continue;
    }
    const key = canonical(row[column]);
    if (keys.includes(key)) continue;
    keys.push(key);
    if (seen.has(key)) continue;
    requests.push({
      key: `sensor:${sensor.name}:${digestOf(key)}`,
      ...paramsOf(sensor, row),
      reason: `sensor "${sensor.name}": new row ${column} = ${shown(key)} in ${where}`,
      event: { engine: sensor.engine, column, key: row[column] },
    });
  }
  const notes: EventNote[] = [];
  const old = keys.length - requests.length;
  if (old > 0) {
    const message = `${old} row(s) with a ${column} seen in the previous result: no run for them`;
    notes.push({ kind: requests.length ? "seen-keys" : "same-result", message });
  }
  if (nulls > 0) notes.push({ kind: "null-key", message: `${nulls} row(s) with a null ${column}: ignored` });
  if (!result.rows.length) notes.push({ kind: "no-result", message: "the query returned no rows: no run" });
  return { requests, notes, cursor: { v: 1, keys } };
}

function byDigest(
  sensor: CompiledSqlSensor,
  result: SqlResult,
  previous: SqlSensorCursor | undefined,
  where: string,
): EventEvaluation<SqlSensorCursor> {
  const cursor: SqlSensorCursor = { v: 1, digest: previous?.digest };
  if (!result.rows.length) {
    return { requests: [], notes: [{ kind: "no-result", message: "the query returned no rows: no run" }], cursor };
  }
  const digest = digestOf(canonical({ columns: result.columns, rows: result.rows }));
  const summary = `${result.rows.length} row(s), digest ${digest.slice(0, 12)}`;
  if (previous?.digest === digest) {
    const message = `the query returned the same result as before (${summary}): no run`;
    return { requests: [], notes: [{ kind: "same-result", message }], cursor };
  }
  const was = previous?.digest === undefined ? "first result" : `was digest ${previous.digest.slice(0, 12)}`;
  const request = {
    key: `sensor:${sensor.name}:${digest}`,
    ...paramsOf(sensor, result.rows[0]),
    reason: `sensor "${sensor.name}": the query's result changed to ${summary} (${was}) in ${where}`,
    event: { engine: sensor.engine, digest, previous: previous?.digest, rows: result.rows.length },
  };
  return { requests: [request], notes: [], cursor: { v: 1, digest } };
}

/** The sensor's params with mapped columns on top, checked as `trainyard run` would check them. */
function paramsOf(sensor: CompiledSqlSensor, row: Record<string, unknown>) {
  const params = { ...sensor.params };
  for (const [param, column] of Object.entries(sensor.paramsFrom)) params[param] = row[column];
  try {
    sensor.checkParams(params, sensor.profile);
  } catch (err) {
    if (!isTrainyardError(err)) throw err;
    throw new TrainyardError(
      "TRIGGER_FAILED",
      `sensor "${sensor.name}": the query's result maps to an invalid run: ` + err.message,
      { trigger: sensor.name, param: err.fields.param, hint: err.hint, cause: err },
    );
  }
  return { params, profile: sensor.profile };
}

function shown(text: string): string {
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text;
}
