/**
 * One run as `show`, the daemon and the HTTP API present it: the run, what started it, who owns
 * it now, and every step with its attempts, its cache decision and, for gates, the verdicts.
 */
import { describeIdentity } from "../store/process-identity.js";
import type { AttemptRecord, MetadataStore, RunRecord, StepRunRecord } from "../store/metadata-store.js";
import type { ArtifactIO } from "./artifact-io.js";
import { runOrigin, type RunOrigin } from "./run-origin.js";

/** What started a run: `trigger` as recorded ("schedule:nightly") split into kind and name. */
export interface RunTrigger {
  /** manual, schedule, data, performance, resume, api, ... */
  kind: string;
  name?: string;
  /** The recorded text. */
  text: string;
}

export interface CacheDecision {
  /** Reused from an earlier step run, computed (a miss, forced, or caching off), or never run. */
  decision: "hit" | "computed" | "not run";
  /** The step run whose outputs were reused (a hit). */
  from?: string;
  /** Why, in words, as the executor recorded it. */
  reason?: string;
}

export interface StepDetail extends StepRunRecord {
  cache: CacheDecision;
  attemptRecords: AttemptRecord[];
  /** Map steps: the items' records. */
  itemRecords: StepRunRecord[];
}

export interface GateVerdictView {
  gate: string;
  status: string;
  message: string;
}

export interface RunDetail {
  run: RunRecord;
  trigger: RunTrigger;
  /** The tick that started a run the daemon launched: trigger, tick time, event and reason. */
  origin?: RunOrigin;
  /** The live process holding a running run, with its last heartbeat. */
  owner?: { process: string; heartbeatAt: number };
  /** Every step run record (map items too), as stored: the shape `show --json` has always printed. */
  steps: StepRunRecord[];
  /** Top-level steps with their attempts, cache decision and items. */
  stepDetails: StepDetail[];
  /** Gate verdicts by gate step. */
  gates: Array<{ step: string; verdicts: GateVerdictView[] }>;
  /** Side effects a failed guard kept from running, in words; absent when none were held. */
  guardNote?: string;
}

export function runTrigger(text: string): RunTrigger {
  const at = text.indexOf(":");
  return at < 0 ? { kind: text, text } : { kind: text.slice(0, at), name: text.slice(at + 1), text };
}

export function cacheDecision(s: StepRunRecord): CacheDecision {
  if (s.cached) return { decision: "hit", from: s.cachedFrom, reason: s.reason };
  const ran = s.status !== "skipped" && s.status !== "cancelled" && s.status !== "pending";
  if (!ran) return { decision: "not run", reason: s.reason };
  return { decision: "computed", reason: s.reason };
}

/** A run's steps as a graph or a list draws them: no attempts, items or cache decisions. */
export interface RunStepStates extends Pick<RunDetail, "run" | "trigger" | "owner" | "gates" | "guardNote"> {
  /** Top-level step records (map items left out), each with its attempt count. */
  steps: StepRunRecord[];
}

type DetailSources = { metadata: MetadataStore; io: ArtifactIO };

export async function runDetail(src: DetailSources, run: RunRecord): Promise<RunDetail> {
  const steps = await src.metadata.listStepRuns(run.id);
  const items = new Map<string, StepRunRecord[]>();
  for (const s of steps) if (s.itemIndex >= 0) items.set(s.stepId, [...(items.get(s.stepId) ?? []), s]);
  const stepDetails: StepDetail[] = [];
  for (const s of steps.filter((x) => x.itemIndex < 0)) {
    const attemptRecords = await src.metadata.listAttempts(s.id);
    stepDetails.push({ ...s, cache: cacheDecision(s), attemptRecords, itemRecords: items.get(s.stepId) ?? [] });
  }
  // A run started by hand (`trainyard run`) has no tick; any other may have been launched by the daemon.
  const origin = run.trigger === "manual" ? undefined : await runOrigin(src.metadata, run.id);
  return { ...(await headline(src, run, steps)), origin, steps, stepDetails };
}

/** The run and its step states in one read of its step records, without a query per step. */
export async function runStepStates(src: DetailSources, run: RunRecord): Promise<RunStepStates> {
  const steps = await src.metadata.listStepRuns(run.id);
  return { ...(await headline(src, run, steps)), steps: steps.filter((s) => s.itemIndex < 0) };
}

async function headline(src: DetailSources, run: RunRecord, steps: StepRunRecord[]) {
  const lease = run.status === "running" ? await src.metadata.getRunLease(run.id) : undefined;
  const owner = lease && { process: describeIdentity(lease.owner), heartbeatAt: lease.heartbeatAt };
  const gates = await gateVerdicts(src.io, steps);
  return { run, trigger: runTrigger(run.trigger), owner, gates, guardNote: guardSkips(steps) };
}

/** Verdicts of gate steps (rejected steps, or steps named like gates), read from their outputs. */
async function gateVerdicts(io: ArtifactIO, steps: StepRunRecord[]): Promise<RunDetail["gates"]> {
  const out: RunDetail["gates"] = [];
  const isGate = (x: StepRunRecord) => x.status === "rejected" || /gate/i.test(x.stepId);
  const gateSteps = steps.filter((x) => x.itemIndex < 0 && x.outputDigest && isGate(x));
  for (const s of gateSteps) {
    const value = (await io.load(s.outputDigest!).catch(() => undefined)) as { verdicts?: GateVerdictView[] } | null;
    if (value?.verdicts) out.push({ step: s.stepId, verdicts: value.verdicts });
  }
  return out;
}

/** Side effects a failed guard kept from running (the executor records "guard `x` failed"). */
export function guardSkips(
  steps: ReadonlyArray<{ step?: string; stepId?: string; status: string; reason?: string }>,
): string | undefined {
  const byReason = new Map<string, string[]>();
  for (const s of steps) {
    if (s.status !== "skipped" || !s.reason?.startsWith("guard `")) continue;
    byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.stepId ?? s.step ?? "?"]);
  }
  if (!byReason.size) return undefined;
  const parts = [...byReason].map(([reason, ids]) => `${ids.join(", ")} (${reason})`);
  return `side effects skipped: ${parts.join("; ")}; nothing was registered or deployed by this run`;
}
