/**
 * A manual run request (`trainyard trigger`, later `POST /api/v1/runs`): the pipeline is loaded and
 * its params resolved exactly as `trainyard run` resolves them, so a bad request fails with the
 * same error before anything is recorded. The request is returned; a `RunRequestRecorder` (the
 * daemon's run queue) stores it for the daemon to launch.
 */
import { createHash, randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { TrainyardError } from "../core/errors.js";
import { coerceParam, resolveParams } from "../core/params.js";
import type { Trainyard } from "../engine/trainyard.js";
import { canonical } from "./event-request.js";

export interface ManualRunRequest {
  /** The request's key in the queue: "manual:<idempotency key>", or a fresh random one. */
  key: string;
  kind: "manual";
  pipeline: string;
  modulePath: string;
  /** The values asked for (typed): the run starts from them, its profile and the defaults. */
  params: Record<string, unknown>;
  /** The params the run would start with now, resolved as `trainyard run` resolves them. */
  resolvedParams: Record<string, unknown>;
  profile?: string;
  idempotencyKey?: string;
  /** Digest of (pipeline, params, profile): one idempotency key must not name two different requests. */
  requestDigest: string;
  requestedAt: number;
  /** The OS user who asked. */
  requestedBy: string;
  /** Why, in words, for the run's record. */
  reason: string;
}

export interface RequestRunOptions {
  /** Raw `--param k=v` strings, coerced to each param's declared type. */
  overrides?: Record<string, string>;
  /** Typed values (API callers). */
  params?: Record<string, unknown>;
  profile?: string;
  /** The same key again is the same request: the queue runs it once. @default none */
  idempotencyKey?: string;
  /** @default Date.now() */
  now?: number;
  /** @default the OS user name */
  requestedBy?: string;
  /** @default "trainyard trigger" */
  via?: string;
}

/** Where requests go: the daemon's run queue. `created` is false when the key was already stored. */
export interface RunRequestRecorder {
  record(request: ManualRunRequest): Promise<{ runId: string; created: boolean; sameRequest: boolean }>;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

export async function requestRun(
  ty: Trainyard,
  modulePath: string,
  opts: RequestRunOptions = {},
): Promise<ManualRunRequest> {
  const key = opts.idempotencyKey;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new TrainyardError("USAGE", `idempotency key ${JSON.stringify(key)} is not valid`, {
      hint: 'use 1 to 200 printable characters without spaces, e.g. a UUID or "retrain-2001-02"',
    });
  }
  const loaded = await ty.load(modulePath);
  const { pipeline } = loaded;
  const profiles = pipeline.profiles as Record<string, Record<string, unknown>>;
  // The same resolution as Trainyard.run: defaults, profile (pipeline or config), values, overrides.
  const resolvedParams = resolveParams(pipeline.name, pipeline.paramsSchema, profiles, {
    profile: opts.profile,
    configProfiles: loaded.configProfiles,
    overrides: opts.overrides,
    values: opts.params,
  });
  const params: Record<string, unknown> = { ...(opts.params ?? {}) };
  for (const [k, raw] of Object.entries(opts.overrides ?? {})) params[k] = coerceParam(pipeline.paramsSchema, k, raw);
  const requestDigest = createHash("sha256")
    .update(canonical({ pipeline: pipeline.name, module: loaded.modulePath, params, profile: opts.profile ?? null }))
    .digest("hex");
  const requestedAt = opts.now ?? Date.now();
  const requestedBy = opts.requestedBy ?? currentUser();
  const values = Object.entries(params)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ");
  const given = values ? ` with ${values}` : "";
  const profile = opts.profile ? `, profile ${opts.profile}` : "";
  return {
    key: `manual:${key ?? `${requestedAt}-${randomBytes(6).toString("hex")}`}`,
    kind: "manual",
    pipeline: pipeline.name,
    modulePath: loaded.modulePath,
    params,
    resolvedParams,
    profile: opts.profile,
    idempotencyKey: key,
    requestDigest,
    requestedAt,
    requestedBy,
    reason: `requested by ${requestedBy} via ${opts.via ?? "trainyard trigger"}${given}${profile}`,
  };
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}
