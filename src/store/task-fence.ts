/**
 * The task fence: one row per step run handed to a queue, holding which dispatch (attempt id) is
 * current, which worker pickup (claim) holds it, and its result once committed. Every change is
 * one conditional update, so a worker that lost its task and finishes late can never overwrite a
 * newer dispatch's or pickup's result, and a result is committed once. It lives in the metadata
 * database beside the runs, with its own migrations table (like the tick ledger).
 */

export type TaskFenceState = "queued" | "running" | "committed";

export interface TaskFence {
  stepRunId: string;
  runId: string;
  /** The dispatch: the StepTask's attempt id. A new dispatch of the step run replaces the row. */
  attemptId: string;
  /** The queue job carrying the task (deterministic, so a resumed orchestrator finds it again). */
  jobId: string;
  queue: string;
  /** The encoded StepTask, to enqueue it again should the queue have lost it. */
  task: string;
  state: TaskFenceState;
  /** The pickup holding the task: a token unique to one worker taking it once. */
  claim?: string;
  /** Who holds it: `<hostname>/<worker id>`. */
  worker?: string;
  /** The encoded StepTaskResult, once committed. */
  result?: string;
  heartbeatAt?: number;
  updatedAt: number;
}

export interface OpenFence {
  stepRunId: string;
  runId: string;
  attemptId: string;
  jobId: string;
  queue: string;
  task: string;
}

/** A queue job a fence names. */
export interface FencedJob {
  queue: string;
  jobId: string;
}

/** One pickup to claim (see TaskFenceStore.claim). */
export interface FenceClaim {
  stepRunId: string;
  attemptId: string;
  claim: string;
  worker: string;
}

/** One pickup's result to commit (see TaskFenceStore.commit). */
export interface FenceCommit {
  stepRunId: string;
  attemptId: string;
  claim: string;
  result: string;
}

import type { RecordBatch } from "./metadata-records.js";

export interface TaskFenceStore {
  /** Starts a dispatch of a step run, superseding any earlier one (its late results are discarded). */
  open(fence: OpenFence, now: number): Promise<void>;
  /** `open` for several step runs in one statement (the steps that became ready together). */
  openMany(fences: OpenFence[], now: number): Promise<void>;
  get(stepRunId: string): Promise<TaskFence | undefined>;
  /** The committed fences among these step runs (an orchestrator's poll for results it missed). */
  committedAmong(stepRunIds: string[]): Promise<TaskFence[]>;
  /** Fences of a run's step runs (a resumed orchestrator reattaches to the uncommitted ones). */
  listRun(runId: string): Promise<TaskFence[]>;
  /** The queues of the fences of runs recorded as queued or running (those an overview of the workers shows). */
  listQueues(): Promise<string[]>;
  /**
   * The fences a worker holds now (state "running") on these queues, oldest claim first. Only a queued or
   * running run's fence can be held: both read through the runs and the fences' run index, as an index on
   * state or queue would cost every claim and commit its heap-only update.
   */
  listRunning(queues: string[]): Promise<TaskFence[]>;
  /** Every queue any fence names (gc trims the finished jobs of each); reads the whole table. */
  fencedQueues(): Promise<string[]>;
  /** The jobs of in-flight runs' uncommitted fences: the queue executor may still read their state. */
  inFlightJobs(): Promise<FencedJob[]>;
  /**
   * A worker takes dispatch `attemptId`: its claim replaces an earlier pickup's (a stalled
   * worker's). Not claimed when the dispatch was superseded or its result is committed already.
   */
  claim(stepRunId: string, attemptId: string, claim: string, worker: string, now: number): Promise<boolean>;
  /**
   * `claim` for several pickups in one statement (a batch's tasks), each under the same conditions
   * as alone; answers, in order, which were claimed. Of two pickups of one step run, the first counts.
   */
  claimMany(claims: FenceClaim[], now: number): Promise<boolean[]>;
  /** The holder's heartbeat; false once another pickup or dispatch took the step run over. */
  heartbeat(stepRunId: string, claim: string, now: number): Promise<boolean>;
  /** Commits the holder's result: true only for the current dispatch and pickup, and only once. */
  commit(stepRunId: string, attemptId: string, claim: string, result: string, now: number): Promise<boolean>;
  /**
   * `commit` for several pickups in one statement (a worker's tasks that ended together), each
   * under the same conditions as alone; answers, in order, which of them committed.
   */
  commitMany(commits: FenceCommit[], now: number): Promise<boolean[]>;
  /**
   * `commitMany` in one transaction with a record batch (the pickups' attempts, logs and inline
   * outputs): a result is never committed without them. Absent where the two take no fewer round trips.
   */
  commitManyWithRecords?(commits: FenceCommit[], records: RecordBatch, now: number): Promise<boolean[]>;
  /** Commits a result without a pickup (the queue gave the task up, or it was cancelled before it ran). */
  settle(stepRunId: string, attemptId: string, result: string, now: number): Promise<boolean>;
  /** The runs that have fences (gc looks among them for runs no longer recorded). */
  fencedRuns(): Promise<string[]>;
  /**
   * Removes the fences of these runs, at most `rowsPerStatement` rows per statement so a large table is
   * never locked for long; never those of a run recorded as queued or running, which a resume may have
   * become since the caller read it. With `dryRun`, only counts them. How many went (or would go).
   */
  removeRunFences(runIds: string[], opts?: RemoveFencesOptions): Promise<number>;
  close(): Promise<void>;
}

export interface RemoveFencesOptions {
  /** Count what would be removed; remove nothing. @default false */
  dryRun?: boolean;
  /** Rows one statement removes at most. @default 1000 */
  rowsPerStatement?: number;
}

/** Rows of fences one statement removes at most (see TaskFenceStore.removeRunFences). */
export const FENCE_ROWS_PER_STATEMENT = 1000;

/** Run statuses whose fences are never removed: a live orchestrator or a resume is using them. */
export const FENCE_RUN_STATUSES_IN_USE: readonly string[] = ["queued", "running"];
export const FENCES_IN_USE_SQL = `(${FENCE_RUN_STATUSES_IN_USE.map((s) => `'${s}'`).join(", ")})`;

/** The fences of in-flight runs, found from the runs through the fences' run index (none on state or queue). */
export const IN_FLIGHT_FENCES_SQL = `runs r JOIN task_fences f ON f.run_id = r.id
  WHERE r.status IN ${FENCES_IN_USE_SQL}`;

/** The jobs of in-flight runs' uncommitted fences (see TaskFenceStore.inFlightJobs). */
export const IN_FLIGHT_JOBS_SQL = `SELECT DISTINCT f.queue, f.job_id FROM ${IN_FLIGHT_FENCES_SQL}
  AND f.state <> 'committed'`;

/** The schema, for SQLite (INTEGER times) and PostgreSQL (DOUBLE PRECISION times). */
export function taskFenceMigrations(dialect: "sqlite" | "postgres"): readonly string[] {
  const time = dialect === "sqlite" ? "INTEGER" : "DOUBLE PRECISION";
  return [
    `
  CREATE TABLE task_fences (
    step_run_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, attempt_id TEXT NOT NULL, job_id TEXT NOT NULL,
    queue TEXT NOT NULL, task TEXT NOT NULL, state TEXT NOT NULL, claim TEXT, worker TEXT, result TEXT,
    heartbeat_at ${time}, updated_at ${time} NOT NULL
  );
  CREATE INDEX task_fences_run ON task_fences (run_id);
  `,
    // A fence is updated twice after its insert (claim, commit), never in an indexed column: PostgreSQL pages
    // keep room for the new row versions, so the updates touch no index (HOT). SQLite has nothing to change.
    dialect === "postgres" ? `ALTER TABLE task_fences SET (fillfactor = 50)` : `SELECT 1`,
  ];
}

/** The first claim of each step run among `claims` (one statement may change a row once). */
export function firstPerStepRun(claims: FenceClaim[]): FenceClaim[] {
  const seen = new Set<string>();
  return claims.filter((c) => !seen.has(c.stepRunId) && seen.add(c.stepRunId));
}

export type FenceRow = Record<string, unknown>;

export function rowsToJobs(rows: FenceRow[]): FencedJob[] {
  return rows.map((r) => ({ queue: String(r.queue), jobId: String(r.job_id) }));
}

export function rowToFence(r: FenceRow): TaskFence {
  const opt = <T>(v: unknown) => (v === null || v === undefined ? undefined : (v as T));
  return {
    stepRunId: String(r.step_run_id),
    runId: String(r.run_id),
    attemptId: String(r.attempt_id),
    jobId: String(r.job_id),
    queue: String(r.queue),
    task: String(r.task),
    state: r.state as TaskFenceState,
    claim: opt<string>(r.claim),
    worker: opt<string>(r.worker),
    result: opt<string>(r.result),
    heartbeatAt: opt<number>(r.heartbeat_at) === undefined ? undefined : Number(r.heartbeat_at),
    updatedAt: Number(r.updated_at),
  };
}
