/**
 * One resolution of what a step reads and whether its outputs can be reused, shared by `plan`
 * and `run`: a step's inputs from its upstream outputs, the key components of the step (or of
 * each map item), and the cache decision with the same checks a run makes before reusing.
 */
import { handlesIn } from "../core/artifacts.js";
import { TrainyardError } from "../core/errors.js";
import { hashJson } from "../core/hash.js";
import { pickParams } from "../core/params.js";
import type { StepDef } from "../core/step.js";
import type { KeyComponents, MetadataStore, StepRunRecord } from "../store/metadata-store.js";
import { pickedDigest, pickValue, toManifest, type ArtifactIO } from "./artifact-io.js";
import { codeFingerprint, keyComponents, sourceDigests, type CodeFingerprint } from "./cache-key.js";
import type { CodeContext } from "./code-context.js";
import type { StepInputRef } from "./step-task.js";

/** A step's output as its consumers see it. */
export interface ResolvedOutput {
  digest: string;
  value: unknown;
}

/** What a step reads and what its cache key is made of, before any map fan-out. */
export interface ResolvedStep {
  def: StepDef;
  /** Input values by name (picked fields applied). */
  inputs: Record<string, unknown>;
  /** Input digests by name, as they enter the cache key. */
  digests: Record<string, string>;
  /** Where each input comes from (an upstream output and the field picked), for a StepTask. */
  refs: Record<string, StepInputRef>;
  /** The params the step declares. */
  params: Record<string, unknown>;
  fingerprint: CodeFingerprint;
}

/** The list a map step fans out over, and its digest (the map's `over` input). */
export interface MapFanOut {
  items: unknown[];
  overDigest: string;
  /** Where the list comes from, for a map item's StepTask. */
  overRef: StepInputRef;
}

export type ReuseDecision =
  | { action: "reuse"; hit: StepRunRecord; value: unknown; reason: string }
  | { action: "run"; reason: string; explainable: boolean };

export interface ResolverDeps {
  metadata: MetadataStore;
  io: ArtifactIO;
  moduleDir: string;
  codeContext?: CodeContext;
  /** Recompute instead of reusing: every step (true) or the listed ones. */
  force?: boolean | readonly string[];
  /** The run that resolves, named in verification errors (absent for a plan). */
  runId?: string;
}

export class StepResolver {
  private readonly fingerprints = new Map<string, Promise<CodeFingerprint>>();

  constructor(private readonly deps: ResolverDeps) {}

  forced(stepId: string): boolean {
    const f = this.deps.force;
    return f === true || (Array.isArray(f) && f.includes(stepId));
  }

  /** Inputs, params and code fingerprint of a step whose upstream outputs are all known. */
  async resolve(
    def: StepDef,
    runParams: Record<string, unknown>,
    outputOf: (stepId: string) => ResolvedOutput,
  ): Promise<ResolvedStep> {
    const inputs: Record<string, unknown> = {};
    const digests: Record<string, string> = {};
    const refs: Record<string, StepInputRef> = {};
    for (const [name, ref] of Object.entries(def.inputs)) {
      const up = outputOf(ref.stepId);
      refs[name] = { digest: up.digest, path: [...ref.path], stepId: ref.stepId };
      inputs[name] = ref.path.length ? pickValue(up.value, ref.path, ref.stepId, name) : up.value;
      digests[name] = ref.path.length ? pickedDigest(inputs[name]) : up.digest;
    }
    await this.deps.io.verifyValue(inputs, {
      use: `an input of step "${def.id}"`,
      step: def.id,
      runId: this.deps.runId,
    });
    const params = pickParams(runParams, def.params);
    let fingerprint = await this.fingerprint(def);
    if (def.options.sources) {
      const sources = await sourceDigests(def, params, this.deps.moduleDir, this.deps.metadata);
      fingerprint = { ...fingerprint, files: { ...fingerprint.files, ...sources } };
    }
    return { def, inputs, digests, refs, params, fingerprint };
  }

  /** The items a map step fans out over; STEP_FAILED when its upstream did not return a list. */
  async fanOut(def: StepDef, outputOf: (stepId: string) => ResolvedOutput): Promise<MapFanOut> {
    const overRef = def.over!;
    const up = outputOf(overRef.stepId);
    const list = overRef.path.length ? pickValue(up.value, overRef.path, overRef.stepId, "over") : up.value;
    if (!Array.isArray(list)) {
      const got = list === null ? "null" : typeof list;
      throw new TrainyardError(
        "STEP_FAILED",
        `map step "${def.id}" fans out over step "${overRef.stepId}", which returned ${got}, not a list`,
        {
          step: def.id,
          hint: `make step "${overRef.stepId}" return an array`,
        },
      );
    }
    await this.deps.io.verifyValue(list, {
      use: `the items of map step "${def.id}"`,
      step: def.id,
      runId: this.deps.runId,
    });
    const ref = { digest: up.digest, path: [...overRef.path], stepId: overRef.stepId };
    return { items: list, overDigest: overRef.path.length ? pickedDigest(list) : up.digest, overRef: ref };
  }

  /** Key components of an ordinary step, or of a map step's parent record (with its `over`). */
  components(step: ResolvedStep, overDigest?: string): KeyComponents {
    const digests = overDigest === undefined ? step.digests : { ...step.digests, over: overDigest };
    return keyComponents(step.def, step.fingerprint, step.params, digests);
  }

  /** Key components of one map item: the step's inputs and the item itself. */
  itemComponents(step: ResolvedStep, item: unknown): KeyComponents {
    return keyComponents(step.def, step.fingerprint, step.params, step.digests, hashJson(toManifest(item) ?? null));
  }

  /**
   * Whether a step (or item) with this key runs or reuses a stored result. A hit is reused only
   * when its source step run still exists and every object in its output verifies: a cache
   * entry whose objects are missing or damaged is recomputed, not trusted.
   * `retain` keeps the hit's objects from gc until the caller's records commit (runs only).
   */
  async decide(
    def: StepDef,
    key: string,
    opts: { retain?: boolean; mayHit?: (key: string) => boolean } = {},
  ): Promise<ReuseDecision> {
    if (this.forced(def.id)) return { action: "run", reason: "forced (--force)", explainable: false };
    if (def.options.cache === false)
      return { action: "run", reason: "caching is disabled for this step", explainable: false };
    const miss = { action: "run" as const, reason: "no cached result for this cache key", explainable: true };
    if (opts.mayHit && !opts.mayHit(key)) return miss;
    const hit = await this.deps.metadata.findByCacheKey(key);
    if (!hit?.outputDigest) return miss;
    const loaded = await this.loadStored(def, hit.outputDigest, { retain: opts.retain, hitId: hit.id });
    if ("problem" in loaded) return { action: "run", reason: loaded.problem, explainable: false };
    const from = hit.cachedFrom ?? hit.id;
    return { action: "reuse", hit, value: loaded.value, reason: `cache hit: same key as ${from}` };
  }

  /** A stored output about to be reused, every object in it verified; `hitId` is the step run that made it. */
  async loadStored(
    def: StepDef,
    digest: string,
    opts: { retain?: boolean; hitId?: string } = {},
  ): Promise<{ value: unknown } | { problem: string }> {
    const { io } = this.deps;
    try {
      const value = await io.load(digest);
      // One journal write for the value and its objects; what gc removed before it is caught below.
      if (opts.retain) io.retain([digest, ...[...handlesIn(value)].map((h) => h.digest)]);
      // gc may have removed the hit's run before the journal said we want its objects.
      if (opts.hitId && !(await this.stepRunExists(opts.hitId)))
        return { problem: `the cached step run ${opts.hitId} was removed` };
      const use = `reusing the output of step "${def.id}"`;
      await io.verifyValue(value, { use, step: def.id, runId: this.deps.runId });
      return { value };
    } catch (err) {
      return { problem: `stored output unusable, recomputing: ${(err as Error).message}` };
    }
  }

  private async stepRunExists(id: string): Promise<boolean> {
    const m = this.deps.metadata;
    return m.hasStepRun ? m.hasStepRun(id) : (await m.getStepRun(id)) !== undefined;
  }

  private fingerprint(def: StepDef): Promise<CodeFingerprint> {
    let fp = this.fingerprints.get(def.id);
    if (!fp) {
      fp = codeFingerprint(def, this.deps.moduleDir, this.deps.metadata, this.deps.codeContext);
      this.fingerprints.set(def.id, fp);
    }
    return fp;
  }
}
