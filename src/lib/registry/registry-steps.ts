/**
 * Registry steps of the canonical flow: which model is in production now (an input of the
 * evaluation, so a promotion elsewhere invalidates it), register the candidate (idempotent by
 * artifact digest), and deploy it by moving an alias (idempotent: an alias already there is
 * left alone). Each reaches the running Trainyard's registry through `ctx.services()` (the
 * configured database, also in a child process); none is cached, as each reads or changes it.
 */
import {
  digestOfValue,
  type Dataset,
  type ModelArtifact,
  type Pipeline,
  isTrainyardError,
  Rejected,
  type StepContext,
  type StepRef,
  type PinPolicy,
  type TrainyardServices,
  TrainyardError,
} from "../../index.js";
import type { DeployedModel } from "../evaluate/evaluate-step.js";
import type { GatesResult } from "../gates/gates-step.js";
import { promoteAlias, registerModel } from "./promote-alias.js";
import type { DeployHook } from "./deploy-hooks.js";
import { upstreamInput } from "../wiring/upstream.js";

async function withServices<T>(ctx: StepContext<unknown>, fn: (services: TrainyardServices) => Promise<T>): Promise<T> {
  return fn(await ctx.services());
}

export interface CurrentModelOptions {
  /** The registered model's name. @default the pipeline's name */
  name?: string;
  /** @default "production" */
  alias?: string;
  /** The model being evaluated: when the alias already holds it, the baseline is the version it replaced. */
  candidate?: StepRef<ModelArtifact>;
}

/**
 * The model a candidate is compared with: the version behind the alias now, or null before the
 * first. Given the `candidate`, and the alias already points at that very artifact (a re-run after
 * it was deployed), the baseline is the version it replaced, so re-running an unchanged pipeline
 * evaluates exactly as before and stays cached, instead of comparing the model with itself.
 */
export function currentModel(
  p: Pipeline<any>,
  id: string,
  opts: CurrentModelOptions = {},
): StepRef<DeployedModel | null> {
  const alias = opts.alias ?? "production";
  const name = opts.name ?? p.name;
  const inputs = (opts.candidate ? { candidate: opts.candidate } : {}) as { candidate?: StepRef<ModelArtifact> };
  return p.step(id, {
    description: `the model behind ${name}@${alias}`,
    cache: false,
    inputs,
    config: { name: name, alias },
    run: (ctx, input) =>
      withServices(ctx, async (ty) => {
        const registry = ty.registry;
        let v = await registry.getVersion(name, alias);
        const candidate = input.candidate as ModelArtifact | undefined;
        if (v && candidate && v.artifactDigest === candidate.digest) {
          const history = await registry.aliasHistory(name, alias);
          const moves = history.filter((e) => e.toVersion === v!.version && e.action !== "unpin");
          const replaced = moves.at(-1)?.fromVersion;
          ctx.log(
            `${name}@${alias} is this candidate (version ${v.version}); comparing with the ` +
              `version it replaced: ${replaced ?? "none"}`,
          );
          v = replaced === undefined ? undefined : await registry.getVersion(name, replaced);
        }
        if (!v) return null;
        const path = await ty.verifiedPath(v.artifactDigest, { use: `model ${name}@${alias}` });
        return { name: name, alias, version: v.version, digest: v.artifactDigest, path };
      }),
  });
}

export interface RegisterStepOptions {
  /** The registered model's name. @default the pipeline's name */
  name?: string;
  /** The gates' verdicts; the run registers nothing unless every gate passed. */
  gates: StepRef<GatesResult>;
  /** The evaluation whose candidate metrics the version keeps. @default the evaluation the gates judged */
  evaluation?: StepRef<{ evaluation: { candidate: { metrics: Record<string, number> } } }>;
  /** The model to register. @default the candidate of that evaluation, so what is registered is what was gated */
  model?: StepRef<ModelArtifact>;
  /** The dataset the model was trained on, recorded as its training data. @default the `train` input of its step */
  data?: StepRef<Dataset>;
  /** The training data's profile, kept as the model's reference statistics. */
  reference?: StepRef<unknown>;
  description?: string;
}

export interface Registered {
  name: string;
  version: number;
  created: boolean;
  digest: string;
}

/** Registers the candidate with its lineage, metrics and gate verdicts. */
export function register(p: Pipeline<any>, id: string, opts: RegisterStepOptions): StepRef<Registered> {
  const name = opts.name ?? p.name;
  const evaluation = opts.evaluation ?? upstreamInput<never>(p, opts.gates, "evaluation");
  const model = opts.model ?? (evaluation && upstreamInput<ModelArtifact>(p, evaluation, "candidate"));
  if (!model) {
    throw new TrainyardError("MISSING_INPUT", `register step "${id}": no model to register`, {
      step: id,
      hint: "give `model`, or `gates` from a gates step whose evaluation has a candidate",
    });
  }
  const data = opts.data ?? upstreamInput<Dataset>(p, model, "train");
  const inputs = {
    model,
    gates: opts.gates,
    ...(evaluation ? { evaluation } : {}),
    ...(data ? { data } : {}),
    ...(opts.reference ? { reference: opts.reference } : {}),
  } as {
    model: StepRef<ModelArtifact>;
    gates: StepRef<GatesResult>;
    evaluation?: StepRef<{ evaluation: { candidate: { metrics: Record<string, number> } } }>;
    data?: StepRef<Dataset>;
    reference?: StepRef<unknown>;
  };
  return p.step(id, {
    description: opts.description ?? `register the candidate as a version of ${name}`,
    cache: false,
    sideEffect: true,
    inputs,
    config: { name },
    run: (ctx, input) =>
      withServices(ctx, async (ty) => {
        const model = input.model as ModelArtifact;
        const reference = input.reference;
        const data = input.data as Dataset | undefined;
        const { version, created } = await registerModel(ty, {
          model: name,
          artifactDigest: model.digest,
          runId: ctx.runId,
          dataDigests: data ? [data.digest] : undefined,
          referenceProfileDigest: reference ? digestOfValue(reference) : undefined,
          metrics: (input.evaluation as { evaluation: { candidate: { metrics: Record<string, number> } } } | undefined)
            ?.evaluation.candidate.metrics,
          gates: (input.gates as GatesResult).verdicts,
          description: `trained by run ${ctx.runId}`,
        });
        const measured =
          version.metricsMeasuredAt === undefined
            ? ""
            : `; its metrics stay ` +
              `those measured ` +
              `by run ${version.metricsRunId ?? "?"} at ${new Date(version.metricsMeasuredAt).toISOString()}`;
        ctx.log(
          created
            ? `registered ${name} version ${version.version}`
            : `${name} version ${version.version} already holds this artifact${measured}`,
        );
        return { name: name, version: version.version, created, digest: model.digest };
      }),
  });
}

export interface DeployStepOptions {
  registered: StepRef<Registered>;
  /** @default "production" */
  alias?: string;
  hooks?: DeployHook[];
  /** How this run treats an alias a person pinned (rollback, forced promotion). @default "respect" */
  pinPolicy?: PinPolicy;
  description?: string;
}

export interface Deployed {
  alias: string;
  version: number;
  previous?: number;
  moved: boolean;
}

/**
 * Moves an alias to the registered version (only reached when every guard passed). A pinned alias
 * is left alone unless `pinPolicy` allows the move: the step then rejects the candidate, naming the pin.
 */
export function deploy(p: Pipeline<any>, id: string, opts: DeployStepOptions): StepRef<Deployed> {
  const alias = opts.alias ?? "production";
  const pinPolicy = opts.pinPolicy ?? "respect";
  return p.step(id, {
    description: opts.description ?? `point ${alias} at the new version`,
    cache: false,
    sideEffect: true,
    inputs: { registered: opts.registered },
    config: { alias, hooks: opts.hooks, pinPolicy },
    run: (ctx, { registered }) =>
      withServices(ctx, async (ty) => {
        const run = await ty.metadata.getRun(ctx.runId);
        const moveOpts = {
          actor: `run:${ctx.runId}`,
          reason: "every gate passed",
          runId: ctx.runId,
          trigger: run?.trigger,
          automated: true,
          pinPolicy,
          hooks: opts.hooks,
        };
        const { name, version } = registered;
        const result = await promoteAlias(ty, name, alias, version, moveOpts).catch((err: unknown) => {
          // A person's pin is not a crash: the candidate is registered, not deployed, and the run says why.
          if (!isTrainyardError(err) || err.code !== "ALIAS_PINNED") throw err;
          throw new Rejected(`${err.message}; ${err.hint}`, { output: { alias, version, moved: false } });
        });
        for (const h of result.hooks) ctx.log(`deploy hook ${h.hook}: ${h.ok ? "ok" : `failed: ${h.detail ?? ""}`}`);
        ctx.log(
          result.event
            ? `${registered.name}@${alias}: ${result.event.fromVersion ?? "none"} -> ${registered.version}`
            : `${registered.name}@${alias} already at ${registered.version}`,
        );
        return {
          alias,
          version: registered.version,
          previous: result.event?.fromVersion,
          moved: result.event !== undefined,
        };
      }),
  });
}
