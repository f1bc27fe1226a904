import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ModelError } from "../model-error.js";
import { predictKernelSource } from "./predict-kernels.js";
import { addTreesToRows, fillBaseMargins, ROW_BLOCK, type TreeEnsemble } from "./tree-ensemble.js";

/**
 * Parallel batch scoring. A small pool of worker threads is created lazily on the first large batch
 * and kept (unref'd, so it never holds the process open) for later ones. Features, margins and the
 * ensemble live in SharedArrayBuffers; the batch is cut into chunks of CHUNK_ROWS rows that the
 * calling thread and the workers claim from one atomic counter, so a thread slowed down by other
 * load on the machine simply claims fewer chunks. Every row is scored by the same kernel
 * (predict-kernels.ts) with the same operations in the same order, so the margins are bit-for-bit
 * those of the sequential path.
 */

/** Batches smaller than this are scored synchronously: hand-off costs would outweigh the gain. */
export const PARALLEL_MIN_ROWS = 50_000;
/** Rows per claimed chunk: 16 scoring blocks (8192 rows), ~60 chunks for 500k rows. */
export const CHUNK_ROWS = 16 * ROW_BLOCK;
const MAX_WORKERS = 15;

/** Default thread count for batch prediction: every core the process may use. */
export function defaultPredictThreads(): number {
  return Math.max(1, availableParallelism());
}

interface SharedEnsemble {
  roots: Int32Array;
  treeOutput: Int32Array;
  depth: Int32Array;
  walkFeature: Int32Array;
  walkThreshold: Float64Array;
  left: Int32Array;
  value: Float64Array;
  feature: Int32Array;
  threshold: Float64Array;
  missing: Int32Array;
}

interface Task {
  id: number;
  e: SharedEnsemble;
  /** Column-major features, `nf * rows` doubles. */
  x: Float64Array;
  nf: number;
  rows: number;
  trees: number;
  out: Float64Array;
  /** [next chunk to claim, chunks finished]. */
  control: Int32Array;
  chunkRows: number;
  chunks: number;
  blockLength: number;
}

const workerSource = `
const { parentPort } = require("node:worker_threads");
${predictKernelSource()}
let block = new Float64Array(0);
parentPort.on("message", (m) => {
  try {
    const e = m.e;
    const cols = [];
    for (let f = 0; f < m.nf; f++) cols.push(m.x.subarray(f * m.rows, (f + 1) * m.rows));
    if (block.length !== m.blockLength) block = new Float64Array(m.blockLength);
    for (;;) {
      const c = Atomics.add(m.control, 0, 1);
      if (c >= m.chunks) break;
      const start = c * m.chunkRows;
      kernelScoreRows(e.roots, e.treeOutput, e.depth, e.walkFeature, e.walkThreshold, e.left, e.value, e.feature,
        e.threshold, e.missing, cols, m.rows, start, Math.min(m.rows, start + m.chunkRows), 0, m.trees, m.out, block);
      Atomics.add(m.control, 1, 1);
    }
    parentPort.postMessage({ id: m.id, ok: true });
  } catch (err) {
    parentPort.postMessage({ id: m.id, ok: false, error: String((err && err.stack) || err) });
  }
});
`;

class PoolWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  dead = false;

  constructor(private readonly onDeath: (w: PoolWorker) => void) {
    this.worker = new Worker(workerSource, { eval: true });
    this.worker.unref();
    this.worker.on("message", (m: { id: number; ok: boolean; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.ok) p.resolve();
      else p.reject(new Error(m.error));
    });
    const fail = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      this.onDeath(this);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`prediction worker exited with code ${code}`)));
  }

  run(task: Task): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref(); // keep the process alive until the answer arrives
      this.pending.set(task.id, { resolve, reject });
      this.worker.postMessage(task);
    });
  }

  terminate(): Promise<number> {
    this.dead = true;
    return this.worker.terminate();
  }
}

const pool: PoolWorker[] = [];
let nextTaskId = 1;
const sharedEnsembles = new WeakMap<TreeEnsemble, SharedEnsemble>();

function workers(n: number): PoolWorker[] {
  const want = Math.min(n, MAX_WORKERS);
  while (pool.length < want) {
    pool.push(
      new PoolWorker((dead) => {
        const i = pool.indexOf(dead);
        if (i >= 0) pool.splice(i, 1);
      }),
    );
  }
  return pool.slice(0, want);
}

/** Live prediction workers. */
export function predictPoolSize(): number {
  return pool.length;
}

/** Stops the prediction workers (a later parallel prediction starts new ones). */
export async function closePredictPool(): Promise<void> {
  const all = pool.splice(0, pool.length);
  await Promise.all(all.map((w) => w.terminate()));
}

/** The ensemble's scoring arrays copied once into shared memory, cached per ensemble. */
function shareEnsemble(e: TreeEnsemble): SharedEnsemble {
  let s = sharedEnsembles.get(e);
  if (s) return s;
  const share = <T extends Int32Array | Float64Array>(a: T): T => {
    const copy = (
      a instanceof Int32Array
        ? new Int32Array(new SharedArrayBuffer(Math.max(4, a.byteLength)), 0, a.length)
        : new Float64Array(new SharedArrayBuffer(Math.max(8, a.byteLength)), 0, a.length)
    ) as T;
    copy.set(a);
    return copy;
  };
  s = {
    roots: share(e.roots),
    treeOutput: share(e.treeOutput),
    depth: share(e.depth),
    walkFeature: share(e.walkFeature),
    walkThreshold: share(e.walkThreshold),
    left: share(e.left),
    value: share(e.value),
    feature: share(e.feature),
    threshold: share(e.threshold),
    missing: share(e.missing),
  };
  sharedEnsembles.set(e, s);
  return s;
}

/**
 * Raw margins, class-major, exactly as predictMargins computes them, using up to `threads` threads
 * (the calling thread included; it scores chunks too, so it is busy until the batch is done).
 */
export async function predictMarginsParallel(
  e: TreeEnsemble,
  columns: Float64Array[],
  rows: number,
  threads: number,
  trees = e.roots.length,
  callerScores = true,
): Promise<Float64Array> {
  const nf = columns.length;
  const x = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, nf * rows)), 0, nf * rows);
  for (let f = 0; f < nf; f++) {
    const c = columns[f];
    if (e.float32) for (let r = 0, p = f * rows; r < rows; r++, p++) x[p] = Math.fround(c[r]);
    else x.set(c, f * rows);
  }
  const out = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, rows * e.outputs)), 0, rows * e.outputs);
  fillBaseMargins(e, out, rows);
  const control = new Int32Array(new SharedArrayBuffer(8));
  const chunks = Math.ceil(rows / CHUNK_ROWS);
  const blockLength = ROW_BLOCK * Math.max(1, nf);
  const task: Task = {
    id: nextTaskId++,
    e: shareEnsemble(e),
    x,
    nf,
    rows,
    trees,
    out,
    control,
    chunkRows: CHUNK_ROWS,
    chunks,
    blockLength,
  };
  // callerScores = false (tests only) leaves every chunk to the workers.
  const helpers = workers(callerScores ? Math.min(threads, chunks) - 1 : Math.max(1, threads - 1));
  const done = helpers.map((w) => w.run(task));
  // Claim chunks on this thread too; without this, an idle worker pool would not be faster.
  const cols = Array.from({ length: nf }, (_, f) => x.subarray(f * rows, (f + 1) * rows));
  const block = new Float64Array(blockLength);
  for (let c = callerScores ? Atomics.add(control, 0, 1) : chunks; c < chunks; c = Atomics.add(control, 0, 1)) {
    const start = c * CHUNK_ROWS;
    addTreesToRows(e, cols, rows, start, Math.min(rows, start + CHUNK_ROWS), 0, trees, out, block);
    Atomics.add(control, 1, 1);
  }
  await Promise.all(done);
  if (Atomics.load(control, 1) !== chunks) {
    throw new ModelError("INVALID_OPTION", "parallel prediction lost rows", { hint: "predict with threads: 1" });
  }
  return out.slice(); // a plain (not shared) array, like the sequential path returns
}
