/**
 * Pipeline params: defaults from the zod schema, then a named profile, then `--param k=v`
 * overrides; validated before any step runs. Zod is used through the schema object the user
 * passes in, so the core has no import-time dependency on it.
 */
import { TrainyardError } from "./errors.js";

/** The part of a zod object schema that Trainyard relies on. */
export interface ParamsSchema {
  readonly shape: Record<string, unknown>;
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { issues: ZodIssueLike[] } };
}

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
  code?: string;
}

export interface ParamSources {
  /** Name of a profile defined by the pipeline or trainyard.config.ts. */
  profile?: string;
  /** Profiles from trainyard.config.ts; the pipeline's own profiles win on a name clash. */
  configProfiles?: Record<string, Record<string, unknown>>;
  /** Raw `k=v` strings from the command line, coerced to each param's declared type. */
  overrides?: Record<string, string>;
  /** Already-typed values (API callers and tests). */
  values?: Record<string, unknown>;
}

export function resolveParams(
  pipelineName: string,
  schema: ParamsSchema | undefined,
  profiles: Record<string, Record<string, unknown>>,
  sources: ParamSources,
): Record<string, unknown> {
  const known = schema ? Object.keys(schema.shape) : [];
  const merged: Record<string, unknown> = {};
  if (sources.profile) {
    const all = { ...(sources.configProfiles ?? {}), ...profiles };
    const profile = all[sources.profile];
    if (!profile) {
      throw new TrainyardError("PROFILE_UNKNOWN", `pipeline "${pipelineName}" has no profile "${sources.profile}"`, {
        hint: Object.keys(all).length
          ? `known profiles: ${Object.keys(all).join(", ")}`
          : "define profiles in the pipeline or in trainyard.config.ts",
      });
    }
    Object.assign(merged, profile);
  }
  Object.assign(merged, sources.values ?? {});
  for (const [key, raw] of Object.entries(sources.overrides ?? {})) {
    merged[key] = coerceParam(schema, key, raw);
  }
  for (const key of Object.keys(merged)) {
    if (!known.includes(key)) {
      throw new TrainyardError("UNKNOWN_PARAM", `unknown param "${key}" for pipeline "${pipelineName}"`, {
        param: key,
        hint: known.length ? `known params: ${known.join(", ")}` : `pipeline "${pipelineName}" declares no params`,
      });
    }
  }
  if (!schema) return {};
  const result = schema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path.map(String).join(".") || "(params)";
    const top = String(issue.path[0] ?? key);
    throw new TrainyardError("PARAM_INVALID", `param "${key}" is invalid: ${issue.message}`, {
      param: key,
      hint: `got ${JSON.stringify(merged[String(issue.path[0])])}; pass --param ${top}=<value> with a valid value`,
      issues: result.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    });
  }
  return result.data as Record<string, unknown>;
}

/** Turns a command-line string into the declared type of a param (number, boolean, JSON). */
export function coerceParam(schema: ParamsSchema | undefined, key: string, raw: string): unknown {
  const field = schema?.shape[key];
  if (!schema || field === undefined) return raw; // reported as unknown later
  const type = baseType(field);
  if (type === "number" || type === "int" || type === "bigint") {
    const n = Number(raw);
    return raw.trim() === "" || Number.isNaN(n) ? raw : n;
  }
  if (type === "boolean") return raw === "true" ? true : raw === "false" ? false : raw;
  if (type === "string" || type === "enum" || type === "literal" || type === "template_literal") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function baseType(field: unknown): string {
  let def =
    (field as { _zod?: { def?: ZodDefLike }; def?: ZodDefLike })._zod?.def ?? (field as { def?: ZodDefLike }).def;
  for (let i = 0; def && i < 10; i++) {
    if (["default", "optional", "nullable", "prefault", "readonly", "catch"].includes(def.type) && def.innerType) {
      def = def.innerType._zod?.def ?? def.innerType.def;
      continue;
    }
    return def.type;
  }
  return "unknown";
}

interface ZodDefLike {
  type: string;
  innerType?: { _zod?: { def?: ZodDefLike }; def?: ZodDefLike };
}

/** The subset of params a step declares; only these are visible to it and enter its cache key. */
export function pickParams(params: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = params[k];
  return out;
}
