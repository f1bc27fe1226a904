/**
 * Which home, metadata store, artifact store and executor a Trainyard uses, field by field:
 * flags (or options passed in code) > environment ($TRAINYARD_HOME, $TRAINYARD_METADATA_URL)
 * > trainyard.config.ts > defaults. The result names every path absolutely, so a child process
 * given it opens exactly the same stores.
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import type {
  ArtifactsConfig,
  ExecutorConfig,
  MetadataConfig,
  ObjectStoreEndpoint,
  StoreConfig,
  TrainyardConfig,
} from "../core/config.js";
import { executorSpec, type ExecutorSpec } from "./executor-registry.js";

export type MetadataSpec =
  | { kind: "sqlite"; file: string }
  | { kind: "postgres"; url: string; schema?: string; reconnectWithinMs?: number };
export type ArtifactsSpec =
  | { kind: "fs"; root: string }
  | ({ kind: "s3"; url: string; cacheDir: string } & ObjectStoreEndpoint);

/** Stores chosen by name, with absolute paths: serializable, for child processes and the daemon. */
export interface StoreSpec {
  home: string;
  metadata: MetadataSpec;
  artifacts: ArtifactsSpec;
  /** The executor by name, with its options. */
  executor: ExecutorSpec;
}

export type ChoiceSource = "flag" | "environment" | "config" | "default";

export interface StoreChoice extends StoreSpec {
  /** Where each choice came from, for messages such as `trainyard status`. */
  sources: { home: ChoiceSource; metadata: ChoiceSource; artifacts: ChoiceSource };
  configFile?: string;
}

export interface ChoiceInputs {
  /** Command-line flags or options given in code; relative paths resolve from `cwd`. */
  flags?: { home?: string; metadata?: MetadataConfig; artifacts?: ArtifactsConfig; executor?: ExecutorConfig };
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** A validated config; its relative paths resolve from the directory of `configFile`. */
  config?: TrainyardConfig;
  configFile?: string;
  /** @default process.cwd() */
  cwd?: string;
}

export function chooseStores(inputs: ChoiceInputs = {}): StoreChoice {
  const env = inputs.env ?? process.env;
  const cwd = inputs.cwd ?? process.cwd();
  const config = inputs.config ?? {};
  const configDir = inputs.configFile ? dirname(inputs.configFile) : cwd;
  const fromConfig = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  const flags = inputs.flags ?? {};

  const [home, homeSource] = flags.home
    ? [resolve(cwd, flags.home), "flag" as const]
    : env.TRAINYARD_HOME
      ? [resolve(cwd, env.TRAINYARD_HOME), "environment" as const]
      : config.home
        ? [fromConfig(config.home), "config" as const]
        : [resolve(cwd, ".trainyard"), "default" as const];

  const url = env.TRAINYARD_METADATA_URL;
  const [metadata, metadataSource]: [MetadataSpec, ChoiceSource] = flags.metadata
    ? [metadataSpec(flags.metadata, (p) => resolve(cwd, p), home), "flag"]
    : url
      ? [{ kind: "postgres", url }, "environment"]
      : config.metadata
        ? [metadataSpec(config.metadata, fromConfig, home), "config"]
        : [{ kind: "sqlite", file: join(home, "metadata.db") }, "default"];

  const cacheDir = join(home, "object-cache");
  const fromEnv = env.TRAINYARD_ARTIFACTS
    ? storeSpec(
        {
          artifacts: env.TRAINYARD_ARTIFACTS,
          endpoint: env.TRAINYARD_S3_ENDPOINT,
          region: env.AWS_REGION,
          forcePathStyle: env.TRAINYARD_S3_FORCE_PATH_STYLE ? env.TRAINYARD_S3_FORCE_PATH_STYLE !== "0" : undefined,
        },
        (p) => resolve(cwd, p),
        cacheDir,
      )
    : undefined;
  const flagged = flags.artifacts && (flags.artifacts.kind === "s3" || flags.artifacts.root);
  const [artifacts, artifactsSource]: [ArtifactsSpec, ChoiceSource] =
    flags.artifacts && flagged
      ? [artifactsSpec(flags.artifacts, (p) => resolve(cwd, p), home), "flag"]
      : fromEnv
        ? [fromEnv, "environment"]
        : config.store
          ? [storeSpec(config.store, fromConfig, cacheDir), "config"]
          : config.artifacts
            ? [artifactsSpec(config.artifacts, fromConfig, home), "config"]
            : [{ kind: "fs", root: join(home, "artifacts") }, "default"];

  return {
    home,
    metadata,
    artifacts,
    executor: executorSpec(flags.executor ?? config.executor),
    sources: { home: homeSource, metadata: metadataSource, artifacts: artifactsSource },
    configFile: inputs.configFile,
  };
}

function metadataSpec(m: MetadataConfig, path: (p: string) => string, home: string): MetadataSpec {
  if (m.kind !== "postgres") return { kind: "sqlite", file: m.file ? path(m.file) : join(home, "metadata.db") };
  const spec: MetadataSpec = { kind: "postgres", url: m.url };
  if (m.schema) spec.schema = m.schema;
  if (m.reconnectWithinMs !== undefined) spec.reconnectWithinMs = m.reconnectWithinMs;
  return spec;
}

function artifactsSpec(config: ArtifactsConfig, resolvePath: (p: string) => string, home: string): ArtifactsSpec {
  if (config.kind === "s3") return { ...config, cacheDir: join(home, "object-cache") };
  return { kind: "fs", root: config.root ? resolvePath(config.root) : join(home, "artifacts") };
}

/** `store: { artifacts: "s3://..." | "<dir>", endpoint, region, forcePathStyle }`. */
function storeSpec(config: StoreConfig, resolvePath: (p: string) => string, cacheDir: string): ArtifactsSpec {
  if (!config.artifacts.startsWith("s3://")) return { kind: "fs", root: resolvePath(config.artifacts) };
  const { artifacts: url, ...endpoint } = config;
  const defined = Object.fromEntries(Object.entries(endpoint).filter(([, v]) => v !== undefined));
  return { kind: "s3", url, cacheDir, ...defined };
}
