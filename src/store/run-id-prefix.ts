/**
 * Finding a run by its id or a prefix of it, the same way on every backend: an exact id wins, a
 * prefix of one run finds it, and a prefix of several is refused with RUN_AMBIGUOUS, listing the
 * newest of them and how many characters tell each apart, rather than reported as "no run".
 */
import { TrainyardError } from "../core/errors.js";
import type { RunRecord } from "./metadata-records.js";

/** How many matches an ambiguous prefix lists (the newest first). */
export const LISTED_MATCHES = 5;

/** One run a prefix matched, with its neighbours in id order among all the matches. */
export interface PrefixMatch {
  run: RunRecord;
  /** Every run the prefix matched, not only those fetched. */
  total: number;
  previousId?: string;
  nextId?: string;
}

/** One run of an ambiguous prefix, as the error lists it (and the API serves it). */
export interface AmbiguousRunMatch {
  id: string;
  pipeline: string;
  status: string;
  startedAt: number;
  /** The shortest prefix that names this run alone. */
  uniquePrefix: string;
}

/** A row of a backend's prefix query (the run's columns, match_count, previous_id, next_id) as a match. */
export function prefixMatchOf(rowToRun: (row: Record<string, any>) => RunRecord) {
  return (row: Record<string, any>): PrefixMatch => ({
    run: rowToRun(row),
    total: Number(row.match_count),
    previousId: row.previous_id ?? undefined,
    nextId: row.next_id ?? undefined,
  });
}

/**
 * The newest matches first, at most LISTED_MATCHES + 1 of them; undefined for none, the run for
 * one, RUN_AMBIGUOUS for more.
 */
export function pickRunByPrefix(prefix: string, matches: PrefixMatch[]): RunRecord | undefined {
  if (matches.length === 0) return undefined;
  if (matches.length === 1 && matches[0].total === 1) return matches[0].run;
  throw ambiguousRunPrefix(prefix, matches);
}

export function ambiguousRunPrefix(prefix: string, matches: PrefixMatch[]): TrainyardError {
  const total = matches[0].total;
  const listed: AmbiguousRunMatch[] = matches.slice(0, LISTED_MATCHES).map((m) => ({
    id: m.run.id,
    pipeline: m.run.pipeline,
    status: m.run.status,
    startedAt: m.run.startedAt ?? m.run.createdAt,
    uniquePrefix: m.run.id.slice(0, uniquePrefixLength(m)),
  }));
  const idWidth = Math.max(...listed.map((m) => m.id.length));
  const pipelineWidth = Math.max(...listed.map((m) => m.pipeline.length));
  const lines = listed.map(
    (m) => `  ${m.id.padEnd(idWidth)}  ${m.pipeline.padEnd(pipelineWidth)}  ${utcTime(m.startedAt)}  ${m.status}`,
  );
  if (total > listed.length) lines.push(`  ... and ${total - listed.length} more (newest listed first)`);
  // Enough characters for every listed run: each one's own shortest prefix is in `matches`.
  const enough = Math.max(...listed.map((m) => m.uniquePrefix.length));
  const example = listed[0].uniquePrefix;
  return new TrainyardError("RUN_AMBIGUOUS", `run id prefix "${prefix}" matches ${total} runs:\n${lines.join("\n")}`, {
    runId: prefix,
    matchCount: total,
    matches: listed,
    hint:
      `type more of the run id (${enough} characters tell the runs listed apart, e.g. ${example} for the newest)` +
      ", or the full id",
  });
}

/** One past the longest prefix the run shares with a neighbour in id order: no other match starts so. */
function uniquePrefixLength(m: PrefixMatch): number {
  const shared = Math.max(commonPrefixLength(m.run.id, m.previousId), commonPrefixLength(m.run.id, m.nextId));
  // An id that is a prefix of another is still found exactly by itself.
  return Math.min(m.run.id.length, shared + 1);
}

function commonPrefixLength(a: string, b: string | undefined): number {
  if (b === undefined) return 0;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function utcTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}Z`;
}
