/**
 * Executes a compiled pipeline for one run: resolves each step's inputs and cache key as soon
 * as its upstream finishes, reuses cached outputs, runs the rest on a bounded pool (longest
 * remaining path first, per-pool limits), retries, fails fast, and records everything.
 */
import { beginWork } from "../core/work-in-progress.js";
import { asErrorCode, describeError, TrainyardError, type ErrorInfo } from "../core/errors.js";
import { descendantsOf, remainingPathWeights } from "../core/graph.js";
import type { KeyComponents, RunStatus, StepRunRecord, StepStatus } from "../store/metadata-store.js";
import { cacheKey } from "./cache-key.js";
import { StepResolver, type ResolvedStep } from "./step-resolution.js";
import type { RunEvent } from "./events.js";
import { RecordWriter } from "./record-writer.js";
import { ReadyQueue } from "./ready-queue.js";
import { defaultExecutors, executorSpec } from "./executor-registry.js";
import { GuardBarrier } from "./guard-barrier.js";
import { mapLineage, rejectedLineage, succeededLineage } from "./step-lineage.js";
import { runEventOf, stepTaskOf } from "./task-handover.js";
import type { ExecuteInput, ExecuteOptions, ExecutorEnv, Node, NodeStatus, Output, Task } from "./executor-types.js";
import type { Executor, StepInputRef, StepTaskEvent, StepTaskOutput, StepTaskResult } from "./step-task.js";

export type { ExecuteInput, ExecuteOptions, ExecutorEnv } from "./executor-types.js";

const TERMINAL: ReadonlySet<NodeStatus> = new Set(["succeeded", "failed", "rejected", "skipped", "cancelled"]);

export class RunExecutor {
  private readonly nodes = new Map<string, Node>();
  private readonly queue = new ReadyQueue<Task>();
  private readonly poolUse = new Map<string, number>();
  private readonly writer: RecordWriter;
  private readonly abort = new AbortController();
  private readonly resolver: StepResolver;
  /** Set once execute() built it from the run's config (see executor-registry.ts). */
  private executor!: Executor;
  /** Tasks handed to the executor whose result has not been handled yet. */
  private readonly submitted = new Set<Task>();
  private open = 0;
  private finish!: () => void;
  private readonly finished = new Promise<void>((r) => (this.finish = r));
  private cancelledByUser = false;
  /**
   * Whether the store held any step result when the run began. A home without one (a fresh
   * one) can only hit results of this very run, so only their keys are looked up.
   */
  private history = true;
  private readonly keysDone = new Set<string>();
  private readonly guards: GuardBarrier;

  constructor(
    private readonly env: ExecutorEnv,
    private readonly run: ExecuteInput,
    private readonly opts: ExecuteOptions,
  ) {
    this.writer = new RecordWriter(env.metadata, () => env.io.sync());
    this.guards = new GuardBarrier(run.graph);
    const { moduleDir, codeContext, runId } = run;
    const { metadata, io } = env;
    this.resolver = new StepResolver({ metadata, io, moduleDir, codeContext, force: opts.force, runId });
  }

  async execute(): Promise<RunStatus> {
    const spec = executorSpec(this.opts.executor);
    const factory = (this.opts.executors ?? defaultExecutors()).factoryFor(spec);
    this.executor = await factory({
      spec,
      env: this.env,
      run: this.run,
      concurrency: this.opts.concurrency,
      chosenConcurrency: this.opts.chosenConcurrency,
      signal: this.abort.signal,
      records: this.writer,
      logLimits: this.opts.logs,
    });
    const durations = await this.env.metadata.stepDurations(this.run.pipeline);
    this.history = await this.env.metadata.hasStepResults();
    const weights = remainingPathWeights(this.run.graph, durations);
    for (const id of this.run.graph.order) {
      const step = this.run.graph.steps.get(id)!;
      this.nodes.set(id, {
        id,
        step,
        waitingOn: step.upstream.length,
        status: "waiting",
        priority: weights.get(id)!,
        record: this.newRecord(id, -1),
        tasks: new Set(),
      });
    }
    this.open = this.nodes.size;
    // Objects this run stores or reuses stay in the pending journal (gc keeps them) until its records commit.
    const releasePending = this.env.io.holdPending();
    const onAbort = () => this.cancelRun();
    if (this.opts.signal?.aborted) this.cancelRun();
    else this.opts.signal?.addEventListener("abort", onAbort, { once: true });
    this.emit({
      type: "run-started",
      runId: this.run.runId,
      pipeline: this.run.pipeline,
      steps: [...this.run.graph.order],
    });
    if (this.open === 0) this.finish();
    // The object cache keeps what the run used since it began: a step hydrated here may wait for a slot.
    const workEnded = beginWork();
    try {
      for (const node of this.nodes.values())
        if (node.waitingOn === 0 && node.status === "waiting") void this.resolve(node);
      await this.finished;
    } finally {
      workEnded();
    }
    this.opts.signal?.removeEventListener("abort", onAbort);
    // The executor's work directories go while the last records are synced and committed.
    const removed = this.executor.close();
    try {
      await this.writer.flush();
      releasePending();
    } finally {
      await removed;
    }
    const statuses = [...this.nodes.values()].map((n) => n.status);
    if (statuses.includes("failed")) return "failed";
    if (statuses.includes("rejected")) return "rejected";
    if (this.cancelledByUser || statuses.includes("cancelled")) return "cancelled";
    return "succeeded";
  }

  /** Step-level summaries, for the CLI and the API. */
  summary(): Array<{
    step: string;
    status: StepStatus | NodeStatus;
    cached: boolean;
    attempts: number;
    durationMs?: number;
    items?: number;
    error?: ErrorInfo;
    reason?: string;
  }> {
    return [...this.nodes.values()].map((n) => ({
      step: n.id,
      status: n.status,
      cached: n.record.cached,
      attempts: n.record.attempts,
      durationMs: n.record.durationMs,
      items: n.items?.total,
      error: n.record.error,
      reason: n.status === "skipped" || n.status === "cancelled" ? n.record.reason : undefined,
    }));
  }

  private newRecord(stepId: string, itemIndex: number): StepRunRecord {
    const id = itemIndex < 0 ? `${this.run.runId}:${stepId}` : `${this.run.runId}:${stepId}[${itemIndex}]`;
    const prev = this.opts.previous?.get(id);
    return {
      id,
      runId: this.run.runId,
      stepId,
      itemIndex,
      status: "pending",
      cached: false,
      attempts: prev?.attempts ?? 0,
    };
  }

  private emit(event: RunEvent): void {
    this.opts.onEvent?.(event);
  }

  // ---- resolving inputs and cache keys -------------------------------------------------

  private async resolve(node: Node): Promise<void> {
    if (this.guards.mustWait(node.id, this.statusOf)) return; // started or skipped by guardEnded
    node.status = "resolving";
    const def = node.step.def;
    this.resolving++;
    try {
      const step = await this.resolver.resolve(def, this.run.params, this.outputOf);
      if (def.kind === "map") return await this.expandMap(node, step);
      const components = this.resolver.components(step);
      const task = this.newTask(node, -1, step, step.digests, components, node.record);
      if (!(await this.tryReuse(task))) await this.hydrateAndEnqueue(task);
    } catch (err) {
      this.failNode(node, err);
    } finally {
      if (--this.resolving === 0 && this.pumpWanted) {
        this.pumpWanted = false;
        this.pump();
      }
    }
  }

  private async hydrateAndEnqueue(task: Task): Promise<void> {
    if (!this.executor.fetchesInputs) await this.resolver.hydrate(task.node.step.def, task.inputs);
    this.enqueue(task);
  }

  private readonly outputOf = (stepId: string): Output => this.nodes.get(stepId)!.output!;

  private newTask(
    node: Node,
    itemIndex: number,
    step: ResolvedStep,
    inputDigests: Record<string, string>,
    components: KeyComponents,
    record: StepRunRecord,
    over?: StepInputRef,
  ): Task {
    record.components = components;
    record.cacheKey = cacheKey(components);
    const { inputs } = step;
    return { node, itemIndex, inputs, inputDigests, record, priority: node.priority, step, over };
  }

  private async expandMap(node: Node, step: ResolvedStep): Promise<void> {
    const { items: list, overDigest, overRef } = await this.resolver.fanOut(node.step.def, this.outputOf);
    node.items = { total: list.length, done: 0, outputs: new Array(list.length), allCached: true, overDigest };
    node.record.status = "running";
    node.record.startedAt = Date.now();
    node.record.components = this.resolver.components(step, overDigest);
    node.record.cacheKey = cacheKey(node.record.components);
    this.writer.saveStepRun(node.record);
    this.emit({ type: "map-expanded", stepId: node.id, items: list.length });
    if (list.length === 0) return await this.completeMap(node);
    node.status = "queued";
    const digests = { ...step.digests, over: overDigest };
    for (let i = 0; i < list.length; i++) {
      if (TERMINAL.has(node.status)) return;
      const item = list[i];
      const components = this.resolver.itemComponents(step, item);
      const record = this.newRecord(node.id, i);
      const task = this.newTask(node, i, step, digests, components, record, overRef);
      if (!(await this.tryReuse(task))) await this.hydrateAndEnqueue(task);
    }
  }

  /** Reuses this run's own earlier success (resume) or a cached step run with the same key. */
  private async tryReuse(task: Task): Promise<boolean> {
    const def = task.node.step.def;
    const prev = this.opts.previous?.get(task.record.id);
    if (prev?.status === "succeeded" && prev.outputDigest) {
      const loaded = await this.resolver.loadStored(def, prev.outputDigest, { retain: true });
      if ("value" in loaded) {
        Object.assign(task.record, prev);
        task.record.reason = prev.reason ?? "succeeded before the run was interrupted";
        this.taskSucceeded(task, { digest: prev.outputDigest, value: loaded.value }, prev.cached, false);
        return true;
      }
      task.record.reason = loaded.problem;
    }
    // A home without results before this run can only hit this run's own keys.
    const mayHit = this.history ? undefined : (key: string) => this.keysDone.has(key);
    const decision = await this.resolver.decide(def, task.record.cacheKey!, { retain: true, mayHit });
    if (decision.action === "run") {
      if (!decision.explainable) task.record.reason = decision.reason;
      return false;
    }
    const { hit } = decision;
    const now = Date.now();
    Object.assign(task.record, {
      status: "succeeded",
      cached: true,
      cachedFrom: hit.cachedFrom ?? hit.id,
      startedAt: now,
      finishedAt: now,
      durationMs: 0,
      outputDigest: hit.outputDigest,
      reason: decision.reason,
    } satisfies Partial<StepRunRecord>);
    this.taskSucceeded(task, { digest: hit.outputDigest!, value: decision.value }, true, true);
    return true;
  }

  // ---- scheduling ----------------------------------------------------------------------

  private enqueue(task: Task): void {
    if (TERMINAL.has(task.node.status)) return;
    if (task.itemIndex < 0) task.node.status = "queued";
    task.record.status = "pending";
    this.queue.push(task);
    this.schedulePump();
  }

  /** Steps whose inputs and cache key are being worked out right now. */
  private resolving = 0;
  private pumpWanted = false;

  /**
   * Fills free slots once no other step is still being resolved, so every step that became
   * ready together is queued first and the longest remaining path really goes first. With
   * nothing else in flight (a chain), the slot is filled at once, without a turn of the loop.
   */
  private schedulePump(): void {
    if (this.resolving > 0) this.pumpWanted = true;
    else this.pump();
  }

  private pump(): void {
    while (!this.abort.signal.aborted) {
      const head = this.queue.peek();
      if (!head) return;
      // With every slot taken, only the best task may still go (a command the executor stages).
      if (!this.executor.hasRoom() && !this.accepts(head)) return;
      const task = this.queue.take(this.accepts);
      if (!task) return;
      if (TERMINAL.has(task.node.status)) continue;
      void this.start(task);
    }
  }

  /** Whether the task's pool has a place and the executor would start it now. */
  private readonly accepts = (task: Task): boolean => {
    if (!this.poolFree(task)) return false;
    task.handover ??= stepTaskOf(this.run, task);
    return this.executor.hasRoom(task.handover);
  };

  private poolFree(task: Task): boolean {
    const pool = task.node.step.def.options.pool;
    if (pool === undefined) return true;
    const size = this.run.graph.pipeline.pools[pool] ?? 1;
    return (this.poolUse.get(pool) ?? 0) < size;
  }

  private async start(task: Task): Promise<void> {
    const pool = task.node.step.def.options.pool;
    if (pool !== undefined) this.poolUse.set(pool, (this.poolUse.get(pool) ?? 0) + 1);
    // The pool place is given back as soon as the step's own work is done (the executor's
    // `work-done`): storing its outputs and records is Trainyard's work.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (pool !== undefined) this.poolUse.set(pool, this.poolUse.get(pool)! - 1);
    };
    const handover = (task.handover ??= stepTaskOf(this.run, task));
    this.submitted.add(task);
    task.node.tasks.add(task);
    if (task.itemIndex < 0) task.node.status = "running";
    else if (task.node.status === "queued") task.node.status = "running";
    task.record.status = "running";
    task.record.startedAt = Date.now();
    task.record.reason ??= task.record.components ? "no cached result for this cache key" : undefined;
    this.writer.saveStepRun(task.record);
    const onEvent = (event: StepTaskEvent) => {
      if (event.type === "work-done") {
        release();
        this.pump();
      } else {
        const runEvent = runEventOf(task, handover, event);
        if (runEvent) this.emit(runEvent);
      }
    };
    let result: StepTaskResult;
    try {
      result = await this.executor.submit(handover, onEvent);
    } catch (err) {
      // The executor itself broke: the step fails with its error.
      result = {
        status: "failed",
        attemptId: handover.attemptId,
        attempts: task.record.attempts,
        error: describeError(err),
        startedAt: task.record.startedAt,
      };
    }
    try {
      task.record.attempts = result.attempts;
      if (result.status === "succeeded") {
        const out = result.output;
        const inline = out.artifacts.find((a) => a.record.digest === out.digest)?.bytes;
        const value = "value" in out ? out.value : await this.env.io.load(out.digest, inline);
        task.record.status = "succeeded";
        // The executor's own span when it has one (a worker's clock): without the result's way back.
        if (result.finishedAt !== undefined) task.record.startedAt = result.startedAt;
        task.record.finishedAt = result.finishedAt ?? Date.now();
        task.record.durationMs = task.record.finishedAt - task.record.startedAt;
        task.record.outputDigest = out.digest;
        this.taskSucceeded(task, { digest: out.digest, value }, false, false, out);
      } else if (result.status === "cancelled") this.taskCancelled(task, result.reason);
      else if (result.status === "rejected" && task.itemIndex < 0) this.taskRejected(task, result);
      else this.taskFailed(task, result.error);
    } catch (err) {
      this.taskFailed(task, describeError(err));
    } finally {
      task.node.tasks.delete(task);
      this.submitted.delete(task);
      release();
      this.pump();
      this.maybeFinish();
    }
  }

  private taskSucceeded(
    task: Task,
    output: Output,
    cached: boolean,
    reused: boolean,
    finalized?: StepTaskOutput,
  ): void {
    const r = task.record;
    // A reuse's key components are those of the step run it reused (`cachedFrom`).
    if (reused) r.components = undefined;
    const lineage = this.recordedBefore(r.id, output.digest)
      ? []
      : succeededLineage(r, task.inputs, task.inputDigests, output, finalized?.produced, reused);
    this.writer.complete({ stepRun: r, artifacts: finalized?.artifacts ?? [], lineage });
    if (r.cacheKey) this.keysDone.add(r.cacheKey);
    this.emit({
      type: "step-finished",
      stepId: r.stepId,
      itemIndex: task.itemIndex,
      status: "succeeded",
      cached,
      durationMs: r.durationMs ?? 0,
      attempts: r.attempts,
    });
    if (task.itemIndex < 0) return this.nodeSucceeded(task.node, output);
    const items = task.node.items!;
    items.outputs[task.itemIndex] = output;
    items.allCached &&= cached;
    items.done++;
    if (items.done === items.total) void this.completeMap(task.node);
  }

  /** A resumed run's step run that succeeded with this output before the interruption: its lineage is recorded. */
  private recordedBefore(stepRunId: string, outputDigest: string): boolean {
    const prev = this.opts.previous?.get(stepRunId);
    return prev?.status === "succeeded" && prev.outputDigest === outputDigest;
  }

  private async completeMap(node: Node): Promise<void> {
    try {
      const items = node.items!;
      const out = await this.env.io.finalize(
        items.outputs.map((o) => o.value),
        node.id,
        undefined,
      );
      const r = node.record;
      r.status = "succeeded";
      r.cached = items.total > 0 && items.allCached;
      r.finishedAt = Date.now();
      r.durationMs = r.finishedAt - (r.startedAt ?? r.finishedAt);
      r.outputDigest = out.digest;
      r.reason = `${items.total} items, ${items.total - items.outputs.filter(Boolean).length} failed`;
      const lineage = this.recordedBefore(r.id, out.digest) ? [] : mapLineage(r, items.overDigest, out.digest);
      this.writer.complete({ stepRun: r, artifacts: out.artifacts, lineage });
      // A worker reads the list from the metadata store when it is small (inline): it must be
      // committed before a downstream step is handed to another machine.
      if (this.executor.fetchesInputs && out.artifacts.some((a) => a.record.inline)) await this.writer.flush();
      this.emit({
        type: "step-finished",
        stepId: node.id,
        itemIndex: -1,
        status: "succeeded",
        cached: r.cached,
        durationMs: r.durationMs,
        attempts: r.attempts,
        items: items.total,
      });
      this.nodeSucceeded(node, { digest: out.digest, value: out.value });
    } catch (err) {
      this.failNode(node, err);
    }
  }

  private nodeSucceeded(node: Node, output: Output): void {
    if (TERMINAL.has(node.status)) return;
    node.status = "succeeded";
    node.output = output;
    this.open--;
    this.guardEnded(node);
    for (const d of node.step.downstream) {
      const dn = this.nodes.get(d)!;
      if (--dn.waitingOn === 0 && dn.status === "waiting") void this.resolve(dn);
    }
    this.maybeFinish();
  }

  private taskFailed(task: Task, error: ErrorInfo): void {
    const r = task.record;
    r.status = "failed";
    r.finishedAt = Date.now();
    r.durationMs = r.finishedAt - (r.startedAt ?? r.finishedAt);
    r.error = error;
    this.writer.saveStepRun(r);
    this.emit({
      type: "step-finished",
      stepId: r.stepId,
      itemIndex: task.itemIndex,
      status: "failed",
      cached: false,
      durationMs: r.durationMs,
      attempts: r.attempts,
      error: r.error,
    });
    if (task.itemIndex >= 0) {
      const wrapped = new TrainyardError(
        asErrorCode(r.error.code),
        `map step "${r.stepId}" item ${task.itemIndex} failed: ${r.error.message}`,
        {
          step: r.stepId,
          item: task.itemIndex,
          hint: r.error.hint,
        },
      );
      this.failNode(task.node, wrapped);
    } else this.failNode(task.node, error, true);
  }

  private taskRejected(task: Task, rejected: Extract<StepTaskResult, { status: "rejected" }>): void {
    const r = task.record;
    r.status = "rejected";
    r.finishedAt = Date.now();
    r.durationMs = r.finishedAt - (r.startedAt ?? r.finishedAt);
    r.outputDigest = rejected.output.digest;
    r.error = { ...rejected.error, code: "REJECTED" };
    r.reason = rejected.error.message;
    const lineage = rejectedLineage(r, task.inputDigests, rejected.output.digest);
    this.writer.complete({ stepRun: r, artifacts: rejected.output.artifacts, lineage });
    this.emit({
      type: "step-finished",
      stepId: r.stepId,
      itemIndex: -1,
      status: "rejected",
      cached: false,
      durationMs: r.durationMs,
      attempts: r.attempts,
      error: r.error,
    });
    this.failNode(task.node, rejected.error, true, "rejected");
  }

  private taskCancelled(task: Task, reason: string): void {
    const r = task.record;
    r.status = "cancelled";
    r.finishedAt = Date.now();
    r.reason = reason;
    this.writer.saveStepRun(r);
    this.emit({
      type: "step-finished",
      stepId: r.stepId,
      itemIndex: task.itemIndex,
      status: "cancelled",
      cached: false,
      durationMs: (r.finishedAt ?? 0) - (r.startedAt ?? 0),
      attempts: r.attempts,
    });
    if (task.itemIndex >= 0) {
      if (!TERMINAL.has(task.node.status)) this.endNode(task.node, "cancelled", reason);
    } else if (!TERMINAL.has(task.node.status)) this.endNode(task.node, "cancelled", reason, false);
  }

  private failNode(node: Node, err: unknown, recorded = false, status: "failed" | "rejected" = "failed"): void {
    if (TERMINAL.has(node.status)) return;
    const info = isErrorInfo(err) ? err : describeError(err);
    node.status = status;
    this.open--;
    const r = node.record;
    if (!recorded) {
      r.status = "failed";
      r.finishedAt = Date.now();
      r.durationMs = r.finishedAt - (r.startedAt ?? r.finishedAt);
      r.error = info;
      this.writer.saveStepRun(r);
      this.emit({
        type: "step-finished",
        stepId: node.id,
        itemIndex: -1,
        status: "failed",
        cached: false,
        durationMs: r.durationMs,
        attempts: r.attempts,
        error: info,
      });
    }
    const what =
      status === "rejected"
        ? `step "${node.id}" rejected the candidate: ${info.message}`
        : `upstream step "${node.id}" failed`;
    this.cancelTasks(node, `step "${node.id}" ${status}`);
    for (const d of descendantsOf(this.run.graph, node.id)) {
      const dn = this.nodes.get(d)!;
      if (!TERMINAL.has(dn.status)) this.endNode(dn, "skipped", what);
    }
    this.guardEnded(node);
    // Fail fast: in-flight work whose every consumer was just skipped can no longer matter.
    for (const other of this.nodes.values()) {
      if (TERMINAL.has(other.status) || !other.tasks.size) continue;
      const desc = descendantsOf(this.run.graph, other.id);
      if (
        desc.size &&
        [...desc].every((d) => TERMINAL.has(this.nodes.get(d)!.status) && this.nodes.get(d)!.status !== "succeeded")
      ) {
        this.cancelTasks(other, `no longer needed: everything downstream was skipped after "${node.id}" failed`);
      }
    }
    this.maybeFinish();
  }

  private endNode(node: Node, status: "skipped" | "cancelled", reason: string, emit = true): void {
    if (TERMINAL.has(node.status)) return;
    node.status = status;
    this.open--;
    const r = node.record;
    r.status = status;
    r.reason = reason;
    r.finishedAt = Date.now();
    this.writer.saveStepRun(r);
    if (emit)
      this.emit({
        type: "step-finished",
        stepId: node.id,
        itemIndex: -1,
        status,
        cached: false,
        durationMs: 0,
        attempts: r.attempts,
        reason,
      });
    this.cancelTasks(node, reason);
    this.guardEnded(node);
    this.maybeFinish();
  }

  private readonly statusOf = (id: string): NodeStatus => this.nodes.get(id)!.status;

  /**
   * Guards protect production: once a guard ended, the side effects it held start (every guard
   * they wait for passed) or are skipped with their steps downstream (one did not pass).
   */
  private guardEnded(node: Node): void {
    if (!this.guards.isGuard(node.id)) return;
    for (const id of this.guards.sideEffects) {
      const effect = this.nodes.get(id)!;
      if (TERMINAL.has(effect.status)) continue;
      const blocked = this.guards.blockedBy(id, this.statusOf);
      if (blocked) {
        this.endNode(effect, "skipped", blocked);
        const why = `upstream step "${id}" was skipped: ${blocked}`;
        for (const d of descendantsOf(this.run.graph, id)) this.endNode(this.nodes.get(d)!, "skipped", why);
      } else if (effect.status === "waiting" && effect.waitingOn === 0) void this.resolve(effect);
    }
  }

  private cancelTasks(node: Node, reason: string): void {
    for (const t of node.tasks) if (t.handover) this.executor.cancel(t.handover.stepRunId, reason);
  }

  private cancelRun(): void {
    if (this.abort.signal.aborted) return;
    this.cancelledByUser = true;
    this.abort.abort(new Error("the run was cancelled"));
    for (const task of this.queue.drain()) task.record.status = "cancelled";
    for (const node of this.nodes.values())
      if (!TERMINAL.has(node.status)) this.endNode(node, "cancelled", "the run was cancelled");
  }

  private maybeFinish(): void {
    if (this.open === 0 && this.submitted.size === 0) this.finish();
  }
}

/** An error already described (a result's), as opposed to one thrown here. */
function isErrorInfo(err: unknown): err is ErrorInfo {
  if (err === null || typeof err !== "object" || err instanceof Error) return false;
  const e = err as Partial<ErrorInfo>;
  return typeof e.code === "string" && typeof e.message === "string" && typeof e.name === "string";
}
