/**
 * Registering, promoting and rolling back models as one call each: the registry change, then
 * the deploy hooks of the home. These are the side-effect steps of the canonical flow
 * (`register`, `deploy`); both are idempotent by key (artifact digest; alias already there).
 */
import { userInfo } from "node:os";
import {
  TrainyardError,
  type AliasChange,
  type AliasEvent,
  type DeployHookResult,
  type ModelVersionRecord,
  type PinPolicy,
  type RegisterVersionInput,
  type TrainyardServices,
} from "../../index.js";
import { deployEvent, loadDeployHooks, runDeployHooks, type DeployHook } from "./deploy-hooks.js";
import { openRegistry } from "./open-registry.js";

export interface PromoteOptions {
  /** Who moves the alias: "run:<id>", "user:<name>". @default "cli" */
  actor?: string;
  reason?: string;
  /** Override failed gates; recorded as forced. A person's forced move pins the alias. @default false */
  force?: boolean;
  /** Hooks to run after the move. @default those in <home>/deploy-hooks.json */
  hooks?: DeployHook[];
  /** The run moving the alias and its trigger, kept in the alias history. */
  runId?: string;
  trigger?: string;
  /** The person behind the move. @default the OS user of this process */
  user?: string;
  /** A pipeline's move: refused on a pinned alias unless `pinPolicy` allows it. @default false */
  automated?: boolean;
  /** @default "respect" */
  pinPolicy?: PinPolicy;
}

/** The OS user of this process, recorded with every alias move ("unknown" where there is none). */
export function currentUser(): string {
  try {
    return userInfo().username || process.env.USER || "unknown";
  } catch {
    return process.env.USER ?? "unknown";
  }
}

export interface PromoteResult extends AliasChange {
  hooks: DeployHookResult[];
}

/**
 * Registers a model version. Fields missing from `input` are filled from its run when known:
 * the run's params and code version, and the inputs of the step run that trained it as the
 * training data, so every version can say which data, code and params made it.
 */
export async function registerModel(
  ty: TrainyardServices,
  input: RegisterVersionInput,
): Promise<{ version: ModelVersionRecord; created: boolean }> {
  const run = input.runId ? await ty.metadata.getRun(input.runId) : undefined;
  let dataDigests = input.dataDigests;
  if (dataDigests === undefined && input.stepRunId) {
    const sr = await ty.metadata.getStepRun(input.stepRunId);
    const edges = await ty.metadata.lineageOfStepRun(sr?.cachedFrom ?? input.stepRunId);
    dataDigests = [...new Set(edges.filter((e) => e.direction === "in").map((e) => e.digest))];
  }
  return openRegistry(ty).registerVersion({
    ...input,
    dataDigests,
    params: input.params ?? run?.params,
    codeFingerprint: input.codeFingerprint ?? run?.codeVersion,
  });
}

export async function promoteAlias(
  ty: TrainyardServices,
  model: string,
  alias: string,
  version: number,
  opts: PromoteOptions = {},
): Promise<PromoteResult> {
  if (opts.force && !opts.automated && !opts.reason) {
    const message = "forcing a promotion needs a reason: overrides of failed gates are recorded with why";
    throw new TrainyardError("USAGE", message, {
      hint: 'give a reason (--reason "<why this version must ship anyway>")',
    });
  }
  const reg = openRegistry(ty);
  const change = await reg.setAlias(model, alias, version, { ...opts, user: opts.user ?? currentUser() });
  return { ...change, hooks: await afterMove(ty, change, opts.hooks) };
}

/** Moves the alias back one step and pins it there: automated runs leave it alone until `unpinAlias`. */
export async function rollbackAlias(
  ty: TrainyardServices,
  model: string,
  alias: string,
  opts: Omit<PromoteOptions, "force" | "automated" | "pinPolicy"> = {},
): Promise<PromoteResult> {
  const reg = openRegistry(ty);
  const change = await reg.rollback(model, alias, { ...opts, user: opts.user ?? currentUser() });
  return { ...change, hooks: await afterMove(ty, change, opts.hooks) };
}

/** Releases a pin (a reason is required); the next automated run may move the alias again. */
export async function unpinAlias(
  ty: TrainyardServices,
  model: string,
  alias: string,
  opts: { actor?: string; reason: string; user?: string },
): Promise<AliasEvent> {
  return openRegistry(ty).unpin(model, alias, { ...opts, user: opts.user ?? currentUser() });
}

async function afterMove(
  ty: TrainyardServices,
  change: AliasChange,
  hooks?: DeployHook[],
): Promise<DeployHookResult[]> {
  if (!change.event) return [];
  const list = hooks ?? loadDeployHooks(ty.home);
  if (!list.length) return [];
  const v = await openRegistry(ty).getVersion(change.alias.model, change.alias.version);
  return runDeployHooks(openRegistry(ty), deployEvent(change.event, v?.artifactDigest), list);
}
