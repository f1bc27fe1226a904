import { Worker } from "node:worker_threads";
import { ModelError } from "../model-error.js";
import { compileRowKernels, rowKernelSource, type RowKernels } from "./kernel-codegen.js";
import { binRowStride } from "./quantile-cuts.js";
import { expTable, NODE_FIELDS } from "./row-kernels.js";

/**
 * Runs the row kernels over all training rows, split into one contiguous chunk per thread. With
 * `threads > 1` all per-row state lives in SharedArrayBuffers; one worker per chunk runs it while
 * the main thread blocks on Atomics until they finish, so a task costs one notify/wait round trip
 * (microseconds) rather than a postMessage. Each thread owns a private histogram buffer that the
 * main thread sums afterwards, so there are no write races and the result depends only on the
 * thread count, not on timing.
 */
export interface RowStateShape {
  rows: number;
  nFeatures: number;
  /** Max bins per feature (histogram stride is 2 * maxBin). */
  maxBin: number;
  outputs: number;
  maxNodes: number;
  maxSlots: number;
}

enum Task {
  GradientsAndRoot = 1,
  ApplyLeaves,
  SoftmaxGradients,
  RootHistogram,
  SplitLevel,
  AssignPositions,
  Exit = 99,
}
const SEQ = 0;
const DONE = 1;
const TASK = 2;
const ARGS = 3;
const FAILED = 15;

export class RowExecutor {
  readonly binStride: number;
  readonly slotStride: number;
  readonly label: Float64Array;
  readonly pred: Float64Array;
  /** Gradient pairs (g, h) per row as float32, class-major for multiclass: `2 * (k * rows + r)`. */
  readonly gh: Float32Array;
  readonly pos: Int32Array;
  readonly mask: Uint8Array;
  readonly nodes: Int32Array;
  readonly leafValue: Float64Array;
  /** Node ids split at the current level (the first `nList` entries are read by splitLevel). */
  readonly levelNodes: Int32Array;
  /** Row indices, two halves of `rows` entries, per thread range partitioned by node (see RowKernels.splitLevel). */
  private readonly idx: Int32Array;
  /** Per thread: node -> [begin, end) of its segment in `idx`. */
  private readonly segs: Int32Array[] = [];
  private readonly hists: Float64Array[] = [];
  private readonly bounds: number[] = [];
  private readonly control: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly kernelSource: string;
  private readonly kernels: RowKernels;
  private readonly expTab = expTable();
  private readonly rowStride: number;
  /** The bin matrix as 32-bit words (rows of 4 or 8 bytes on a little-endian machine), else empty. */
  private readonly binWords: Int32Array;

  constructor(
    readonly shape: RowStateShape,
    readonly bins: Uint8Array,
    readonly threads: number,
  ) {
    const { rows, nFeatures, outputs, maxNodes, maxSlots } = shape;
    this.binStride = 2 * shape.maxBin;
    this.slotStride = nFeatures * this.binStride;
    const alloc = (bytes: number): ArrayBufferLike =>
      threads > 1 ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    this.label = new Float64Array(alloc(8 * rows));
    this.pred = new Float64Array(alloc(8 * rows * outputs));
    this.gh = new Float32Array(alloc(8 * rows * outputs));
    this.pos = new Int32Array(alloc(4 * rows));
    this.mask = new Uint8Array(alloc(rows));
    this.nodes = new Int32Array(alloc(4 * NODE_FIELDS * maxNodes));
    this.leafValue = new Float64Array(alloc(8 * maxNodes));
    this.control = new Int32Array(alloc(4 * 16));
    this.levelNodes = new Int32Array(alloc(4 * maxNodes));
    this.idx = new Int32Array(alloc(4 * 2 * rows));
    for (let t = 0; t < threads; t++) {
      this.segs.push(new Int32Array(alloc(4 * 2 * maxNodes)));
      this.hists.push(new Float64Array(alloc(8 * Math.max(1, maxSlots) * this.slotStride)));
      this.bounds.push(Math.floor((rows * t) / threads));
    }
    this.bounds.push(rows);
    this.rowStride = binRowStride(nFeatures);
    const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
    this.binWords =
      littleEndian && this.rowStride <= 8
        ? new Int32Array(bins.buffer, bins.byteOffset, (rows * this.rowStride) >> 2)
        : new Int32Array(0);
    this.kernelSource = rowKernelSource(nFeatures, this.binStride, this.rowStride, this.binWords.length > 0);
    this.kernels = compileRowKernels(this.kernelSource);
    // With several threads every chunk runs on a worker, the main thread only coordinating: the same
    // kernels ran some 20% slower on the main thread than on a worker, which left the worker
    // waiting for it at the end of every task.
    if (threads > 1) for (let t = 0; t < threads; t++) this.workers.push(this.spawn(t));
  }

  gradientsAndRoot(objective: 0 | 1, applyTree: boolean, useMask: boolean): void {
    this.run(Task.GradientsAndRoot, objective, applyTree ? 1 : 0, useMask ? 1 : 0);
  }
  applyLeaves(output: number): void {
    this.run(Task.ApplyLeaves, output * this.shape.rows);
  }
  softmaxGradients(useMask: boolean): void {
    this.run(Task.SoftmaxGradients, useMask ? 1 : 0);
  }
  rootHistogram(output: number): void {
    this.run(Task.RootHistogram, 2 * output * this.shape.rows);
  }
  /** Splits the first `nList` nodes of `levelNodes` (see RowKernels.splitLevel). */
  splitLevel(output: number, slots: number, nList: number): void {
    this.run(Task.SplitLevel, 2 * output * this.shape.rows, slots, nList);
  }
  /** Sets `pos` of every row to its node, for the first `nList` nodes of `levelNodes`. */
  assignPositions(nList: number): void {
    this.run(Task.AssignPositions, nList);
  }

  /** Sums histogram `slot` over threads into `out` (length slotStride). */
  mergeSlot(slot: number, out: Float64Array): void {
    const from = slot * this.slotStride;
    out.set(this.hists[0].subarray(from, from + this.slotStride));
    for (let t = 1; t < this.threads; t++) {
      const h = this.hists[t];
      for (let i = 0; i < this.slotStride; i++) out[i] += h[from + i];
    }
  }

  close(): void {
    if (this.workers.length === 0) return;
    this.control[TASK] = Task.Exit;
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }

  private run(task: Task, a0 = 0, a1 = 0, a2 = 0): void {
    const c = this.control;
    c[TASK] = task;
    c[ARGS] = a0;
    c[ARGS + 1] = a1;
    c[ARGS + 2] = a2;
    if (this.threads > 1) {
      Atomics.store(c, DONE, 0);
      Atomics.add(c, SEQ, 1);
      Atomics.notify(c, SEQ);
    }
    const need = this.workers.length;
    if (need === 0) this.runChunk(0);
    for (let done = Atomics.load(c, DONE); done < need; done = Atomics.load(c, DONE)) {
      // Blocking the main thread is deliberate: training is a synchronous step; the timeout only
      // turns a crashed worker into an error instead of a hang.
      if (Atomics.wait(c, DONE, done, 120_000) === "timed-out" || c[FAILED] !== 0) break;
    }
    if (c[FAILED] !== 0 || Atomics.load(c, DONE) < need) {
      this.close();
      throw new ModelError("INVALID_OPTION", "a histogram worker thread failed", {
        hint: "retry with threads: 1 to train on the main thread only",
      });
    }
  }

  private runChunk(t: number): void {
    const start = this.bounds[t];
    const end = this.bounds[t + 1];
    const c = this.control;
    const hist = this.hists[t];
    const k = this.kernels;
    switch (c[TASK] as Task) {
      case Task.GradientsAndRoot:
        return k.gradientsAndRoot(
          c[ARGS],
          this.label,
          this.pred,
          this.gh,
          this.pos,
          this.nodes,
          this.leafValue,
          c[ARGS + 1],
          this.mask,
          c[ARGS + 2],
          this.bins,
          this.binWords,
          hist,
          this.expTab,
          this.idx,
          this.segs[t],
          start,
          end,
        );
      case Task.ApplyLeaves:
        return k.applyLeaves(
          this.pred,
          c[ARGS],
          this.pos,
          this.nodes,
          this.leafValue,
          this.bins,
          this.rowStride,
          start,
          end,
        );
      case Task.SoftmaxGradients:
        return k.softmaxGradients(
          this.shape.outputs,
          this.shape.rows,
          this.label,
          this.pred,
          this.gh,
          this.mask,
          c[ARGS],
          start,
          end,
        );
      case Task.RootHistogram:
        return k.rootHistogram(this.bins, this.binWords, this.gh, c[ARGS], hist, this.idx, this.segs[t], start, end);
      case Task.SplitLevel:
        return k.splitLevel(
          this.bins,
          this.binWords,
          this.gh,
          c[ARGS],
          this.idx,
          this.shape.rows,
          this.nodes,
          hist,
          c[ARGS + 1],
          this.segs[t],
          this.levelNodes,
          c[ARGS + 2],
        );
      case Task.AssignPositions:
        return k.assignPositions(this.pos, this.idx, this.segs[t], this.levelNodes, c[ARGS]);
    }
  }

  private spawn(t: number): Worker {
    const worker = new Worker(workerSource(this.kernelSource), {
      eval: true,
      workerData: {
        t,
        start: this.bounds[t],
        end: this.bounds[t + 1],
        shape: this.shape,
        binStride: this.binStride,
        slotStride: this.slotStride,
        control: this.control.buffer,
        bins: this.bins.buffer,
        label: this.label.buffer,
        pred: this.pred.buffer,
        gh: this.gh.buffer,
        pos: this.pos.buffer,
        mask: this.mask.buffer,
        nodes: this.nodes.buffer,
        leafValue: this.leafValue.buffer,
        hist: this.hists[t].buffer,
        idx: this.idx.buffer,
        seg: this.segs[t].buffer,
        levelNodes: this.levelNodes.buffer,
        expTab: this.expTab,
        rowStride: this.rowStride,
        words: this.binWords.length > 0,
      },
    });
    worker.unref();
    return worker;
  }
}

/** The worker's arguments to each kernel, by the names its source declares below. */
const GRADIENTS_AND_ROOT_ARGS =
  "a, label, pred, gh, pos, nodes, leafValue, b, mask, x, bins, binWords, hist, expTab, idx, seg, s, e";
const SOFTMAX_ARGS = "d.shape.outputs, rows, label, pred, gh, mask, a, s, e";
const SPLIT_LEVEL_ARGS = "bins, binWords, gh, a, idx, rows, nodes, hist, b, seg, levelNodes, x";

// The worker runs the very same kernel functions (their source text), so single- and multi-threaded
// training cannot drift apart.
const workerSource = (kernels: string): string => `
const { workerData: d } = require("node:worker_threads");
const k = ${kernels};
const c = new Int32Array(d.control);
const bins = new Uint8Array(d.bins, 0, d.shape.rows * d.rowStride);
const binWords = d.words ? new Int32Array(d.bins, 0, (d.shape.rows * d.rowStride) >> 2) : new Int32Array(0);
const label = new Float64Array(d.label), pred = new Float64Array(d.pred);
const gh = new Float32Array(d.gh), pos = new Int32Array(d.pos), rows = d.shape.rows;
const mask = new Uint8Array(d.mask), nodes = new Int32Array(d.nodes), leafValue = new Float64Array(d.leafValue);
const hist = new Float64Array(d.hist), expTab = d.expTab;
const idx = new Int32Array(d.idx), seg = new Int32Array(d.seg), levelNodes = new Int32Array(d.levelNodes);
const S = d.rowStride, s = d.start, e = d.end;
let seq = 0;
for (;;) {
  Atomics.wait(c, ${SEQ}, seq);
  seq = Atomics.load(c, ${SEQ});
  const task = c[${TASK}], a = c[${ARGS}], b = c[${ARGS + 1}], x = c[${ARGS + 2}];
  if (task === ${Task.Exit}) break;
  try {
    if (task === ${Task.GradientsAndRoot}) k.gradientsAndRoot(${GRADIENTS_AND_ROOT_ARGS});
    else if (task === ${Task.ApplyLeaves}) k.applyLeaves(pred, a, pos, nodes, leafValue, bins, S, s, e);
    else if (task === ${Task.SoftmaxGradients}) k.softmaxGradients(${SOFTMAX_ARGS});
    else if (task === ${Task.RootHistogram}) k.rootHistogram(bins, binWords, gh, a, hist, idx, seg, s, e);
    else if (task === ${Task.SplitLevel}) k.splitLevel(${SPLIT_LEVEL_ARGS});
    else if (task === ${Task.AssignPositions}) k.assignPositions(pos, idx, seg, levelNodes, a);
  } catch (err) {
    c[${FAILED}] = 1;
  }
  Atomics.add(c, ${DONE}, 1);
  Atomics.notify(c, ${DONE});
}
`;
