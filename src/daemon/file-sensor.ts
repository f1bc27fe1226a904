/**
 * One evaluation of a file sensor: the listing is the source of truth, the cursor (plain JSON
 * the daemon stores with the tick) remembers digests seen and files still settling, and the
 * result says which run requests to make and why each other file made none.
 */
import { createHash } from "node:crypto";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { CompiledFileSensor } from "../core/triggers.js";
import type { LandingEntry, LandingSource } from "./landing-folder.js";
import { shortDigest } from "../core/hash.js";
import { isLegacyDigest, SHA256, SHA256_BLOCKS } from "../core/digest-format.js";
import { BLOCKED_MIN } from "../store/file-hash.js";

export interface FileSensorCursor {
  v: 1;
  /** Content digest -> the names it was seen under (a few), whether or not the file still exists. */
  digests: Record<string, string[]>;
  /** Files already digested, by name: unchanged size and mtime means no need to read them again. */
  files: Record<string, { size: number; mtimeMs: number; version?: string; digest: string }>;
  /** Files not yet stable: the size and mtime last seen, and since when (sensor clock) they held. */
  pending: Record<string, { size: number; mtimeMs: number; since: number }>;
  /** New content waiting for the debounce window (opened at the first file) to close. */
  batch?: { openedAt: number; files: LandedFile[] };
}

export interface LandedFile {
  name: string;
  size: number;
  digest: string;
}

export interface SensorRunRequest {
  /** Unique per set of contents: the daemon's idempotency key for this request. */
  key: string;
  params: Record<string, unknown>;
  profile?: string;
  files: LandedFile[];
  reason: string;
}

export type SensorNoteKind =
  | "folder-missing"
  | "same-content"
  | "touched"
  | "settling"
  | "deleted"
  | "changed-while-reading"
  | "batch-open";

export interface SensorNote {
  kind: SensorNoteKind;
  message: string;
  files?: string[];
}

export interface FileSensorEvaluation {
  requests: SensorRunRequest[];
  cursor: FileSensorCursor;
  notes: SensorNote[];
}

export function emptySensorCursor(): FileSensorCursor {
  return { v: 1, digests: {}, files: {}, pending: {} };
}

/**
 * A cursor saved before digests named their scheme holds bare hex: such a file's digest is
 * sha256 below 64 MiB and the block scheme from there on, so files seen then stay known.
 */
function withSchemes(cursor: FileSensorCursor): FileSensorCursor {
  const legacy = Object.keys(cursor.digests).some(isLegacyDigest);
  if (!legacy && !Object.values(cursor.files).some((f) => isLegacyDigest(f.digest))) return cursor;
  const sizeOf = new Map(Object.values(cursor.files).map((f) => [f.digest, f.size]));
  const name = (d: string, size = sizeOf.get(d) ?? 0) =>
    isLegacyDigest(d) ? `${size >= BLOCKED_MIN ? SHA256_BLOCKS : SHA256}:${d}` : d;
  return {
    ...cursor,
    digests: Object.fromEntries(Object.entries(cursor.digests).map(([d, names]) => [name(d), names])),
    files: Object.fromEntries(
      Object.entries(cursor.files).map(([n, f]) => [n, { ...f, digest: name(f.digest, f.size) }]),
    ),
  };
}

/** Names kept per digest: enough to say "same bytes as X", bounded for a file landed many times. */
const NAMES_PER_DIGEST = 8;
/** Files digested between two yields to the event loop. */
const DIGEST_BATCH = 200;
/** Files listed by name in a note or a reason; the rest are counted. */
const SHOWN = 5;

/**
 * `now` is the sensor's clock (injected, so tests and the daemon control it); `flush` closes an
 * open debounce window at once (a preview shows what the batch would hold).
 */
export async function evaluateFileSensor(
  sensor: CompiledFileSensor,
  previous: FileSensorCursor | undefined,
  now: number,
  source: LandingSource,
  opts: { flush?: boolean } = {},
): Promise<FileSensorEvaluation> {
  const before = previous ? withSchemes(previous) : emptySensorCursor();
  const notes: SensorNote[] = [];
  const listing = await source.list();
  if (!listing) {
    // A vanished folder (an unmounted disk) keeps what was learned; nothing new can be seen.
    const message = `landing folder ${source.location} does not exist; no files were read`;
    notes.push({ kind: "folder-missing", message });
    return { requests: [], cursor: before, notes };
  }
  const cursor: FileSensorCursor = {
    v: 1,
    digests: { ...before.digests },
    files: {},
    pending: {},
    batch: before.batch,
  };
  const settling: string[] = [];
  const stable: LandingEntry[] = [];
  for (const e of listing) {
    const known = before.files[e.name];
    if (known && known.size === e.size && known.mtimeMs === e.mtimeMs && known.version === e.version) {
      cursor.files[e.name] = known;
      continue;
    }
    const seen = before.pending[e.name];
    const held = seen && seen.size === e.size && seen.mtimeMs === e.mtimeMs;
    const since = held ? seen.since : now;
    // Stable: unchanged for the settle interval, or last written that long ago (renamed into place).
    if (now - since >= sensor.settleMs || now - e.mtimeMs >= sensor.settleMs) stable.push(e);
    else {
      cursor.pending[e.name] = { size: e.size, mtimeMs: e.mtimeMs, since };
      settling.push(e.name);
    }
  }
  const fresh: LandedFile[] = [];
  const sameContent: string[] = [];
  const touched: string[] = [];
  const changedWhileReading: string[] = [];
  for (const [i, e] of stable.entries()) {
    // Digests of small files may complete synchronously: let timers and other triggers run between.
    if (i > 0 && i % DIGEST_BATCH === 0) await yieldToLoop();
    const read = await source.digest(e.name);
    if (!read) continue;
    if (read.size !== e.size || read.mtimeMs !== e.mtimeMs) {
      // Written to while being read: settle again from now rather than trust a torn digest.
      cursor.pending[e.name] = { size: read.size, mtimeMs: read.mtimeMs, since: now };
      changedWhileReading.push(e.name);
      continue;
    }
    cursor.files[e.name] = { size: e.size, mtimeMs: e.mtimeMs, version: e.version, digest: read.digest };
    const names = cursor.digests[read.digest] ?? [];
    const isNew = names.length === 0 || (sensor.onSameContent === "run" && !names.includes(e.name));
    if (isNew) fresh.push({ name: e.name, size: e.size, digest: read.digest });
    else if (names.includes(e.name)) touched.push(e.name);
    else sameContent.push(`${e.name} (same bytes as ${names[0]})`);
    if (!names.includes(e.name)) cursor.digests[read.digest] = [...names, e.name].slice(-NAMES_PER_DIGEST);
  }
  const listed = new Set(listing.map((e) => e.name));
  const deleted = [...Object.keys(before.files), ...Object.keys(before.pending)].filter((n) => !listed.has(n));
  note(
    notes,
    "same-content",
    sameContent,
    "already seen under another name: no run",
    sensor.onSameContent === "ignore" ? ' (set onSameContent: "run" to count a new name)' : "",
  );
  note(notes, "touched", touched, "seen before under this name with the same bytes (touched or re-added): no run");
  note(notes, "settling", settling, `not stable yet (size or mtime changed within the last ${sensor.settleMs} ms)`);
  note(notes, "changed-while-reading", changedWhileReading, "changed while being read: settling again");
  note(notes, "deleted", deleted, "deleted since the last evaluation (their digests stay known)");

  if (fresh.length) {
    cursor.batch = { openedAt: cursor.batch?.openedAt ?? now, files: [...(cursor.batch?.files ?? []), ...fresh] };
  }
  const requests: SensorRunRequest[] = [];
  if (cursor.batch && (opts.flush || now - cursor.batch.openedAt >= sensor.debounceMs)) {
    requests.push(runRequest(sensor, cursor.batch.files, source.location));
    cursor.batch = undefined;
  } else if (cursor.batch) {
    notes.push({
      kind: "batch-open",
      message:
        `${cursor.batch.files.length} new file(s) wait for the debounce window to close ` +
        `(${sensor.debounceMs - (now - cursor.batch.openedAt)} ms left)`,
      files: cursor.batch.files.map((f) => f.name),
    });
  }
  if (!cursor.batch) delete cursor.batch;
  return { requests, cursor, notes };
}

function runRequest(sensor: CompiledFileSensor, files: LandedFile[], location: string): SensorRunRequest {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Keyed by content (and by name when a new name counts), so re-evaluating never requests twice.
  const identity = sorted
    .map((f) => (sensor.onSameContent === "run" ? `${f.name}\t${f.digest}` : f.digest))
    .sort()
    .join("\n");
  const key = `sensor:${sensor.name}:${createHash("sha256").update(identity).digest("hex").slice(0, 32)}`;
  const shown = sorted
    .slice(0, SHOWN)
    .map((f) => `${f.name} (${shortDigest(f.digest)})`)
    .join(", ");
  const more = sorted.length > SHOWN ? ` and ${sorted.length - SHOWN} more` : "";
  return {
    key,
    params: { ...sensor.params },
    profile: sensor.profile,
    files: sorted,
    reason: `sensor "${sensor.name}": ${sorted.length} new file(s) in ${location}: ${shown}${more}`,
  };
}

function note(notes: SensorNote[], kind: SensorNoteKind, files: string[], what: string, extra = ""): void {
  if (!files.length) return;
  const shown = files.slice(0, SHOWN).join(", ") + (files.length > SHOWN ? ` and ${files.length - SHOWN} more` : "");
  const names = files.map((f) => f.replace(/ \(same bytes as .*\)$/, ""));
  notes.push({ kind, message: `${shown}: ${what}${extra}`, files: names });
}
