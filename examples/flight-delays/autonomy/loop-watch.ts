/**
 * Watches the retraining loop from the outside, through the same stores the CLI reads: the
 * daemon's ticks (what it saw and why it started a run), runs and their gate verdicts, alias
 * moves, and what the model server says it serves. Each poll returns what changed, in words.
 */
import { openTickStore } from "../../../src/daemon/open-tick-store.js";
import { runDetail } from "../../../src/engine/run-detail.js";
import { Trainyard } from "../../../src/engine/trainyard.js";
import type { RunRecord } from "../../../src/store/metadata-store.js";
import type { TickRecord, TickStore } from "../../../src/store/tick-store.js";

export type LoopEventKind =
  | "detected"
  | "run-started"
  | "run-finished"
  | "promoted"
  | "served"
  | "monitor-fired"
  | "monitor-held";

export interface LoopEvent {
  kind: LoopEventKind;
  /** When it happened, as recorded (ms since the epoch). */
  at: number;
  text: string;
  runId?: string;
  trigger?: string;
  status?: string;
  version?: number;
  tick?: TickRecord;
  /** Step timings of a finished run, ms by step id (the run's own records). */
  steps?: Record<string, number>;
}

const TERMINAL = new Set(["succeeded", "failed", "rejected", "cancelled"]);

export class LoopWatch {
  private readonly seenTicks = new Set<string>();
  private readonly runs = new Map<string, RunRecord>();
  private readonly tickOfRun = new Map<string, TickRecord>();
  private lastAliasEvent = 0;
  servedVersion?: number;

  private constructor(
    private readonly ty: Trainyard,
    private readonly ticks: TickStore,
    private readonly serverUrl: string,
    private readonly pipeline: string,
    private readonly triggers: string[],
    private readonly model: string,
  ) {}

  static async open(opts: { home: string; serverUrl: string; pipeline: string; triggers: string[]; model: string }) {
    const ty = await Trainyard.open({ home: opts.home });
    const ticks = await openTickStore(ty);
    return new LoopWatch(ty, ticks, opts.serverUrl, opts.pipeline, opts.triggers, opts.model);
  }

  run(id: string): RunRecord | undefined {
    return this.runs.get(id);
  }

  /** Runs seen so far, oldest first. */
  allRuns(): RunRecord[] {
    return [...this.runs.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Whether the daemon has evaluated the trigger at least once (it leads and has loaded the module). */
  async evaluated(trigger: string): Promise<boolean> {
    return (await this.ticks.getTriggerState(`${this.pipeline}/${trigger}`))?.evaluatedAt !== undefined;
  }

  tickOf(runId: string): TickRecord | undefined {
    return this.tickOfRun.get(runId);
  }

  async poll(): Promise<LoopEvent[]> {
    const events: LoopEvent[] = [];
    for (const name of this.triggers) {
      const fresh = (await this.ticks.listTicks(`${this.pipeline}/${name}`, { limit: 50 })).reverse();
      for (const t of fresh) {
        if (this.seenTicks.has(`${t.trigger}|${t.key}`)) continue;
        this.seenTicks.add(`${t.trigger}|${t.key}`);
        for (const id of t.runIds ?? []) this.tickOfRun.set(id, t);
        events.push(tickEvent(t));
      }
    }
    const runs = (await this.ty.metadata.listRuns({ pipeline: this.pipeline, limit: 50 })).reverse();
    for (const run of runs) {
      const before = this.runs.get(run.id);
      this.runs.set(run.id, run);
      const tick = this.tickOfRun.get(run.id);
      if (!before) {
        const why = tick ? `: ${tick.reason}` : "";
        events.push({
          kind: "run-started",
          at: run.startedAt ?? run.createdAt,
          runId: run.id,
          trigger: run.trigger,
          text: `run ${run.id} started by ${run.trigger}${why}`,
          tick,
        });
      }
      if (TERMINAL.has(run.status) && (!before || !TERMINAL.has(before.status))) events.push(await this.finished(run));
    }
    for (const e of await this.ty.registry.aliasHistory(this.model)) {
      if (e.id <= this.lastAliasEvent) continue;
      this.lastAliasEvent = e.id;
      if (e.alias !== "production" || e.toVersion === undefined) continue;
      const by = e.runId ? ` by run ${e.runId}` : ` by ${e.actor}`;
      events.push({
        kind: "promoted",
        at: e.at,
        version: e.toVersion,
        runId: e.runId,
        text: `promoted: ${this.model}@production -> version ${e.toVersion}${by}`,
      });
    }
    const served = await this.serverVersion();
    if (served !== undefined && served.version !== this.servedVersion) {
      this.servedVersion = served.version;
      events.push({
        kind: "served",
        at: served.loadedAt,
        version: served.version,
        text: `the server now serves ${this.model} version ${served.version}`,
      });
    }
    return events;
  }

  private async finished(run: RunRecord): Promise<LoopEvent> {
    const detail = await runDetail(this.ty, run);
    const verdicts = detail.gates.flatMap((g) => g.verdicts);
    const failed = verdicts.filter((v) => v.status === "fail");
    const gates = !verdicts.length
      ? "no gate verdicts"
      : failed.length
        ? `gates failed: ${failed.map((v) => `${v.gate} (${v.message})`).join("; ")}`
        : `all ${verdicts.length} gates passed`;
    const steps: Record<string, number> = {};
    for (const s of detail.stepDetails) {
      if (s.startedAt !== undefined && s.finishedAt !== undefined) steps[s.stepId] = s.finishedAt - s.startedAt;
    }
    const error = run.status === "failed" && run.error ? `: ${run.error.message.split("\n")[0]}` : "";
    let outcome = "";
    if (run.status === "succeeded") {
      const moved = (await this.ty.registry.aliasHistory(this.model)).some((e) => e.runId === run.id);
      const now = await this.ty.registry.getAlias(this.model, "production");
      // Register and deploy are idempotent: a candidate identical to production (no new data) moves nothing.
      if (!moved && now) outcome = `; production unchanged (still version ${now.version})`;
    }
    return {
      kind: "run-finished",
      at: run.finishedAt ?? Date.now(),
      runId: run.id,
      trigger: run.trigger,
      status: run.status,
      steps,
      text: `run ${run.id} ${run.status}${error} (${gates})${outcome}`,
    };
  }

  private async serverVersion(): Promise<{ version: number; loadedAt: number } | undefined> {
    try {
      const res = await fetch(`${this.serverUrl}/v1/models`);
      type Slot = { model: string; alias: string; version: number; loadedAt: number };
      const body = (await res.json()) as { models: Slot[] };
      const slot = body.models.find((m) => m.model === this.model && m.alias === "production");
      return slot && { version: slot.version, loadedAt: slot.loadedAt };
    } catch {
      return undefined; // the server is starting or stopping: nothing to say
    }
  }

  async close(): Promise<void> {
    await this.ticks.close();
    await this.ty.close();
  }
}

function tickEvent(t: TickRecord): LoopEvent {
  if (t.kind === "monitor") {
    const fired = t.status === "requested";
    return {
      kind: fired ? "monitor-fired" : "monitor-held",
      at: t.evaluatedAt,
      tick: t,
      text: fired ? `monitor fired: ${t.reason}` : `monitor held back: ${t.reason}`,
    };
  }
  const files = (t.event as { files?: Array<{ name: string; digest: string }> } | undefined)?.files ?? [];
  const names = files.map((f) => `${f.name} (${f.digest.slice(f.digest.indexOf(":") + 1).slice(0, 15)}..)`).join(", ");
  return {
    kind: "detected",
    at: t.evaluatedAt,
    tick: t,
    text: t.status === "requested" ? `the daemon saw ${names || t.reason} land` : `the daemon noted ${t.reason}`,
  };
}
