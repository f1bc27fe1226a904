/**
 * Validates a `trainyard.config.ts` default export: unknown fields are refused (a misspelt
 * `metadta` would otherwise silently leave the default store in place), and every error names
 * the field, the file and what is accepted.
 */
import { parseByteSize } from "../core/byte-size.js";
import { z } from "zod";
import type { TrainyardConfig } from "../core/config.js";
import { TrainyardError } from "../core/errors.js";
import { defaultExecutors, type ExecutorRegistry } from "./executor-registry.js";

const text = z.string().min(1, "must not be empty");

const metadata = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("sqlite"), file: text.optional() }),
  z.strictObject({
    kind: z.literal("postgres"),
    url: text.regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL"),
    schema: text.regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be lowercase letters, digits and underscores").optional(),
    reconnectWithinMs: z.number().int("must be whole milliseconds").min(0, "must not be negative").optional(),
  }),
]);

const s3Url = text.regex(/^s3:\/\/[^/]+/, "must be an s3://bucket/prefix URL");
const endpoint = {
  endpoint: text.regex(/^https?:\/\//, "must be an http:// or https:// URL").optional(),
  region: text.optional(),
  forcePathStyle: z.boolean().optional(),
  credentials: z.strictObject({ accessKeyId: text, secretAccessKey: text }).optional(),
  cacheMax: z
    .union([
      z.number().int("must be whole bytes").positive("must be positive"),
      text.refine(isByteSize, 'must be a size such as "20GiB"'),
    ])
    .optional(),
};

const configSchema = z.strictObject({
  home: text.optional(),
  metadata: metadata.optional(),
  artifacts: z
    .discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("fs"), root: text.optional() }),
      z.strictObject({ kind: z.literal("s3"), url: s3Url, ...endpoint }),
    ])
    .optional(),
  // Any name: which executors exist is known only once the CLI registered them (executor-registry.ts).
  executor: z.union([text, z.looseObject({ kind: text })]).optional(),
  store: z.strictObject({ artifacts: text, ...endpoint }).optional(),
  profiles: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  concurrency: z.number().int().positive().optional(),
  // Checked where triggers compile (TRIGGER_INVALID naming the trigger), against the pipeline's params.
  triggers: z.unknown().optional(),
});

const ACCEPTED: Record<string, string> = {
  metadata:
    '{ kind: "sqlite", file?: "..." } or ' +
    '{ kind: "postgres", url: "postgres://...", schema?: "...", reconnectWithinMs?: N }',
  artifacts:
    '{ kind: "fs", root?: "..." } or ' +
    '{ kind: "s3", url: "s3://bucket/prefix", endpoint?, region?, forcePathStyle?, credentials?, cacheMax? }',
  store:
    '{ artifacts: "s3://bucket/prefix" or a directory, endpoint?: "http://...", region?, forcePathStyle?, ' +
    'credentials?: { accessKeyId, secretAccessKey }, cacheMax?: "20GiB" }',
  executor: '"local" (the default), the name of a registered executor, or { kind: "<name>", ...its options }',
  profiles: "{ <profile>: { <param>: value } }",
  triggers: "{ <pipeline>: [schedule(...), sensor(...), monitor(...), onRunStatus(...)] }",
};

/**
 * The config as TrainyardConfig, or CONFIG_INVALID naming the first wrong field and the file.
 * The executor must be one `executors` knows (the CLI registers its own before loading configs).
 */
export function validateConfig(
  raw: unknown,
  file: string,
  executors: ExecutorRegistry = defaultExecutors(),
): TrainyardConfig {
  const parsed = configSchema.safeParse(raw ?? {});
  if (parsed.success) {
    checkExecutor(parsed.data.executor, file, executors);
    return parsed.data as TrainyardConfig;
  }
  const issue = parsed.error.issues[0];
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const path = [...issue.path, ...keys.slice(0, 1)].map(String);
  const field = path.join(".") || "(the default export)";
  const message = keys.length
    ? `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${[...issue.path, k].join(".")}"`).join(", ")}`
    : issue.message;
  const top = path[0] ?? "";
  const known = Object.keys(configSchema.shape).join(", ");
  const hint = ACCEPTED[top]
    ? `${top} takes ${ACCEPTED[top]}`
    : keys.length
      ? `the fields are ${known}`
      : `fix "${field}" in ${file}; the fields are ${known}`;
  return invalid(`${file}: ${field}: ${message}`, { file, field, hint });
}

function checkExecutor(executor: string | { kind: string } | undefined, file: string, executors: ExecutorRegistry) {
  const name = typeof executor === "string" ? executor : executor?.kind;
  const known = executors.names();
  if (name === undefined || known.includes(name)) return;
  const field = typeof executor === "string" ? "executor" : "executor.kind";
  const quoted = known.map((n) => `"${n}"`);
  const hint =
    known.length === 1
      ? `${quoted[0]} is the only executor registered; set ${field} to it, or register "${name}" (registerExecutor)`
      : `the executors registered are ${quoted.join(", ")}; set ${field} to one of them`;
  invalid(`${file}: ${field}: unknown executor "${name}"`, { file, field, hint });
}

function invalid(message: string, fields: { file: string; field: string; hint: string }): never {
  throw new TrainyardError("CONFIG_INVALID", `invalid config ${message}`, fields);
}

/** Whether parseByteSize reads `text` (one list of units for the schema and the store). */
function isByteSize(text: string): boolean {
  try {
    parseByteSize(text, "cacheMax");
    return true;
  } catch {
    return false;
  }
}
