/**
 * Views over recorded runs that the web UI and other programs read: the runs x steps history
 * grid of a pipeline, a run's step outputs, and a step's log as numbered lines (an offset is
 * a stable position, so a follower resumes where it stopped).
 */
import type { MetadataStore, RunRecord, StepRunRecord, StepState, StepStatus } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import type { StepLogChunk } from "./query.js";

export interface GridCell {
  status: StepStatus;
  cached: boolean;
  durationMs?: number;
  attempts: number;
}

export interface RunGrid {
  pipeline: string;
  /** Step ids, in the order they first appear in the newest runs. */
  steps: string[];
  runs: Array<{
    id: string;
    status: RunRecord["status"];
    trigger: string;
    createdAt: number;
    finishedAt?: number;
    /** `cells[i]` belongs to `steps[i]`; null when the run has no such step. */
    cells: Array<GridCell | null>;
  }>;
}

export async function runGrid(metadata: MetadataStore, pipeline: string, limit: number): Promise<RunGrid> {
  const runs = await metadata.listRuns({ pipeline, limit });
  const states = await stepStates(
    metadata,
    runs.map((r) => r.id),
  );
  const byRun = new Map<string, StepState[]>(runs.map((r) => [r.id, []]));
  for (const s of states) byRun.get(s.runId)?.push(s);
  const steps: string[] = [];
  const index = new Map<string, number>();
  const byStart = (a: StepState, b: StepState) => (a.startedAt ?? Infinity) - (b.startedAt ?? Infinity);
  for (const run of runs) {
    for (const s of [...byRun.get(run.id)!].sort(byStart)) {
      if (index.has(s.stepId)) continue;
      index.set(s.stepId, steps.length);
      steps.push(s.stepId);
    }
  }
  const rows = runs.map((run) => {
    const cells: Array<GridCell | null> = steps.map(() => null);
    for (const s of byRun.get(run.id)!) {
      cells[index.get(s.stepId)!] = {
        status: s.status,
        cached: s.cached,
        durationMs: s.durationMs,
        attempts: s.attempts,
      };
    }
    return {
      id: run.id,
      status: run.status,
      trigger: run.trigger,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
      cells,
    };
  });
  return { pipeline, steps, runs: rows };
}

/** Top-level step states of the runs: in one read where the store offers it. */
async function stepStates(metadata: MetadataStore, runIds: string[]): Promise<StepState[]> {
  if (metadata.listStepStates) return metadata.listStepStates(runIds);
  const lists = await Promise.all(runIds.map((id) => metadata.listStepRuns(id)));
  return lists.flat().filter((s) => s.itemIndex < 0);
}

export interface RunOutput {
  step: string;
  item?: number;
  digest: string;
  kind?: string;
  size?: number;
  /** The value itself when it is a small JSON value kept in the metadata store. */
  value?: unknown;
}

/** Every step output of a run (map items too), with small JSON values inlined. */
export async function runOutputs(
  src: { metadata: MetadataStore; io: ArtifactIO },
  runId: string,
): Promise<RunOutput[]> {
  const out: RunOutput[] = [];
  for (const s of await src.metadata.listStepRuns(runId)) {
    if (!s.outputDigest) continue;
    const art = await src.metadata.getArtifact(s.outputDigest);
    const item = s.itemIndex >= 0 ? s.itemIndex : undefined;
    const entry: RunOutput = { step: s.stepId, item, digest: s.outputDigest, kind: art?.kind, size: art?.size };
    if (art?.inline) entry.value = await src.io.load(art.digest).catch(() => undefined);
    out.push(entry);
  }
  return out;
}

export interface NumberedLogLine {
  attempt: number;
  ts: number;
  stream: "stdout" | "stderr" | "log";
  line: string;
  offset: number;
}

/** Lines `offset` .. `offset + limit` of a step's log, numbered across attempts. */
export async function logPage(
  chunks: AsyncIterable<StepLogChunk>,
  offset: number,
  limit: number,
): Promise<{ lines: NumberedLogLine[]; nextOffset: number }> {
  const lines: NumberedLogLine[] = [];
  for await (const chunk of logFrom(chunks, offset)) {
    for (const [i, line] of chunk.lines.entries()) {
      if (lines.length >= limit) break;
      lines.push({
        attempt: chunk.attempt,
        ts: chunk.ts,
        stream: chunk.stream,
        line: chunk.label + line,
        offset: chunk.offset + i,
      });
    }
    if (lines.length >= limit) break;
  }
  // Numbers the log cap cut are not lines: the next page starts after the last line given.
  return { lines, nextOffset: lines.length ? lines[lines.length - 1].offset + 1 : offset };
}

/**
 * A step's log from line `offset` on (numbered across attempts), streamed as it is read: each chunk
 * with the number of its first line. A follower reads it once per look, not page after page. A
 * line's number stays its own as the log grows, through lines the step's log cap cuts (`skip`).
 */
export async function* logFrom(
  chunks: AsyncIterable<StepLogChunk>,
  offset: number,
): AsyncGenerator<StepLogChunk & { offset: number }> {
  let n = 0;
  for await (const chunk of chunks) {
    n += chunk.skip ?? 0;
    const count = chunk.lines.length;
    if (n + count > offset) {
      const skip = Math.max(0, offset - n);
      yield { ...chunk, lines: skip ? chunk.lines.slice(skip) : chunk.lines, offset: n + skip };
    }
    n += count;
  }
}

/**
 * How long a follower waits before it reads a log again, given how long its last read took: each
 * read starts from the log's beginning (a log file is read from its start), so one of a long log
 * waits four times its read, and a follower takes at most a fifth of a core.
 */
export function followPause(pollMs: number, lastReadMs: number): number {
  return Math.max(pollMs, 4 * lastReadMs);
}

/** Whether a step (or map item) has ended: no further log line or state change will come. */
export function stepEnded(sr: StepRunRecord, run: RunRecord): boolean {
  if (sr.status === "running" || sr.status === "pending") return run.status !== "running" && run.status !== "queued";
  return true;
}
