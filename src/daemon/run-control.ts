/**
 * Starting, cancelling and resuming runs from outside their process, as the HTTP API and the
 * CLI (`trainyard trigger`, `trainyard cancel`) do. A manual request goes to the daemon's queue
 * (an idempotency key claimed once); when no daemon is alive to take it, the caller may launch it
 * at once with the daemon's own launcher, so a queued run never waits for a daemon that is not
 * there. Cancelling a running run signals its owner process, which ends it `cancelled`.
 */
import { TrainyardError } from "../core/errors.js";
import { runNotFound } from "../engine/require-run.js";
import type { Trainyard } from "../engine/trainyard.js";
import { identityAlive, selfIdentity } from "../store/process-identity.js";
import type { TickStore } from "../store/tick-store.js";
import { daemonHealth } from "./daemon-health.js";
import { queueRecorder } from "./queue-recorder.js";
import { requestRun, type ManualRunRequest, type RequestRunOptions } from "./request-run.js";
import { RunLauncher } from "./run-launcher.js";

export interface ManualRunOutcome {
  request: ManualRunRequest;
  runId: string;
  created: boolean;
  sameRequest: boolean;
  /** Who starts the run: the daemon (it was alive, or nothing new was queued) or this process. */
  launchedBy: "daemon" | "api";
}

export interface ManualRunOptions extends RequestRunOptions {
  /** Launch the run here when no daemon is alive. @default true */
  launchWithoutDaemon?: boolean;
}

/** Validates and queues a run request; launches it here when no daemon would. */
export async function requestManualRun(
  ty: Trainyard,
  store: TickStore,
  modulePath: string,
  opts: ManualRunOptions = {},
): Promise<ManualRunOutcome> {
  const request = await requestRun(ty, modulePath, opts);
  const stored = await queueRecorder(ty).record(request);
  const base = { request, runId: stored.runId, created: stored.created, sameRequest: stored.sameRequest };
  if (!stored.created || opts.launchWithoutDaemon === false) return { ...base, launchedBy: "daemon" };
  const health = await daemonHealth(store, ty.metadata);
  if (health.state === "ok") return { ...base, launchedBy: "daemon" };
  const row = await store.getQueuedRun(stored.runId);
  if (!row || !(await store.markLaunched(row.runId, launcherHolder(), Date.now())))
    return { ...base, launchedBy: "daemon" };
  runLauncher(ty).launch(row, `api:${request.requestedBy}`);
  return { ...base, launchedBy: "api" };
}

export type CancelAction = "cancel-requested" | "dequeued" | "already-finished";

/** Cancels a queued run (it never starts) or a running one (its owner is sent SIGTERM and ends it `cancelled`). */
export async function cancelRun(
  ty: Trainyard,
  store: TickStore,
  runIdOrPrefix: string,
): Promise<{ runId: string; action: CancelAction; message: string }> {
  const run = await ty.query.run(runIdOrPrefix);
  const queued = await store.getQueuedRun(run?.id ?? runIdOrPrefix);
  if (!run) {
    if (queued && (await store.cancelQueued(queued.runId, "cancelled by request"))) {
      return { runId: queued.runId, action: "dequeued", message: `run ${queued.runId} was queued and will not start` };
    }
    throw runNotFound(runIdOrPrefix, { where: ty.home });
  }
  if (run.status !== "running") {
    return { runId: run.id, action: "already-finished", message: `run ${run.id} is ${run.status}: nothing to cancel` };
  }
  const lease = await ty.metadata.getRunLease(run.id);
  const owner = lease?.owner;
  if (!owner || owner.host !== selfIdentity().host || identityAlive(owner) === false) {
    throw new TrainyardError("RUN_OWNED", `run ${run.id} is owned by a process this host cannot signal`, {
      runId: run.id,
      hint: owner
        ? `stop pid ${owner.pid} on host ${owner.host}`
        : "its owner is gone; it will read `interrupted` shortly",
    });
  }
  process.kill(owner.pid, "SIGTERM");
  return {
    runId: run.id,
    action: "cancel-requested",
    message: `sent SIGTERM to pid ${owner.pid}: the run ends cancelled`,
  };
}

/** Starts `trainyard resume <run>` in the background for a run that can be resumed. */
export async function resumeInBackground(
  ty: Trainyard,
  runIdOrPrefix: string,
): Promise<{ runId: string; message: string }> {
  const run = await ty.query.requireRun(runIdOrPrefix);
  if (run.status === "succeeded" || run.status === "running" || run.status === "queued") {
    throw new TrainyardError("RUN_NOT_RESUMABLE", `run ${run.id} is ${run.status}`, {
      runId: run.id,
      hint: run.status === "succeeded" ? "re-run it instead: a new run reuses its cached steps" : "wait for it to end",
    });
  }
  const child = runLauncher(ty).resume({ runId: run.id, pipeline: run.pipeline, trigger: run.trigger });
  return { runId: run.id, message: `resuming run ${run.id} (pid ${child.pid ?? "?"})` };
}

function runLauncher(ty: Trainyard): RunLauncher {
  const metadata = ty.stores?.metadata;
  const env: Record<string, string> = metadata?.kind === "postgres" ? { TRAINYARD_METADATA_URL: metadata.url } : {};
  return new RunLauncher({ home: ty.home, env, onExit: () => undefined });
}

function launcherHolder(): string {
  const id = selfIdentity();
  return `api@${id.host}:${id.pid}`;
}
