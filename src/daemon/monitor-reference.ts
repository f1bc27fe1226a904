/**
 * The reference profile of a registered version, for the drift signal. The registry keeps only
 * its digest (of the profile value the register step was given); the value itself is stored as
 * a step output of the run that registered the version, whole or as one field of it.
 */
import { digestOfValue } from "../engine/artifact-io.js";
import type { Trainyard } from "../engine/trainyard.js";
import type { Profile } from "../lib/data/profile.js";
import type { ModelVersionRecord } from "../store/registry-store.js";

export type ReferenceProfileLoader = (version: ModelVersionRecord) => Promise<Profile | undefined>;

export function referenceProfileLoader(ty: Trainyard): ReferenceProfileLoader {
  const found = new Map<string, Profile>();
  return async (v) => {
    const digest = v.referenceProfileDigest;
    if (!digest) return undefined;
    const known = found.get(digest);
    if (known) return known;
    const profile = (await storedProfile(ty, digest)) ?? (await profileInRun(ty, digest, v.runId));
    if (profile) found.set(digest, profile);
    return profile;
  };
}

async function storedProfile(ty: Trainyard, digest: string): Promise<Profile | undefined> {
  try {
    const value = await ty.io.load(digest);
    return isProfile(value) ? value : undefined;
  } catch {
    return undefined; // not stored whole: look in the registering run's outputs
  }
}

async function profileInRun(ty: Trainyard, digest: string, runId: string | undefined): Promise<Profile | undefined> {
  if (!runId) return undefined;
  for (const sr of await ty.metadata.listStepRuns(runId)) {
    if (!sr.outputDigest) continue;
    const value = await ty.io.load(sr.outputDigest).catch(() => undefined);
    const candidates = value !== null && typeof value === "object" ? [value, ...Object.values(value)] : [];
    for (const c of candidates) if (isProfile(c) && digestOfValue(c) === digest) return c;
  }
  return undefined;
}

function isProfile(v: unknown): v is Profile {
  return typeof v === "object" && v !== null && (v as Profile).kind === "trainyard.profile";
}
