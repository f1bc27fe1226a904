/**
 * The one way a command, route or daemon action turns "a run id or a unique prefix" into a run.
 * The store refuses a prefix of several runs (RUN_AMBIGUOUS, with the matches), so "no run" is
 * said here only when nothing matches.
 */
import { TrainyardError } from "../core/errors.js";
import type { MetadataStore, RunRecord } from "../store/metadata-store.js";

export interface RunLookupWording {
  /** Where the run was looked for, named in the message (e.g. the home). */
  where?: string;
  /** What to do instead; by default, list the runs with `trainyard runs`. */
  hint?: string;
}

/** NOT_FOUND for an id or prefix that matches no run. */
export function runNotFound(idOrPrefix: string, wording: RunLookupWording = {}): TrainyardError {
  const where = wording.where ? ` in ${wording.where}` : "";
  return new TrainyardError("NOT_FOUND", `no run "${idOrPrefix}"${where}`, {
    runId: idOrPrefix,
    hint: wording.hint ?? "list runs with `trainyard runs`",
  });
}

/** The run an id or prefix names: NOT_FOUND when none, RUN_AMBIGUOUS when several. */
export async function requireRun(
  metadata: Pick<MetadataStore, "getRun">,
  idOrPrefix: string,
  wording: RunLookupWording = {},
): Promise<RunRecord> {
  const run = await metadata.getRun(idOrPrefix);
  if (run) return run;
  throw runNotFound(idOrPrefix, wording);
}
