/** Builds the web UI into dist/ui/ unless its sources are unchanged since the last build. */
export function buildUi(opts?: { force?: boolean }): Promise<{ skipped: boolean }>;
