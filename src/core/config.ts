/**
 * `trainyard.config.ts`: the project's composition, chosen by name (which metadata store, which
 * artifact store, which executor) and its shared param profiles. Relative paths resolve from the
 * config file's directory. Flags beat the environment, which beats this file, which beats defaults.
 */
import type { TriggerDecl } from "./triggers.js";

/** Where runs, step runs, lineage and the model registry are recorded. */
export type MetadataConfig =
  /** An embedded SQLite file, by default `<home>/metadata.db`. */
  | { kind: "sqlite"; file?: string }
  /**
   * A PostgreSQL database shared by several machines; the schema defaults to `public`.
   * `reconnectWithinMs`: how long a statement waits for a server that went away (a restart, a
   * failover) before the write fails, 60000 unless set.
   */
  | { kind: "postgres"; url: string; schema?: string; reconnectWithinMs?: number };

/** Where artifact bytes live. @default root: "<home>/artifacts" */
export type ArtifactsConfig =
  /** Files under a local directory. */
  | { kind: "fs"; root?: string }
  /** S3-compatible object storage, read through a cache of verified objects at `<home>/object-cache`. */
  | ({ kind: "s3"; url: string } & ObjectStoreEndpoint);

/** How to reach S3-compatible storage. */
export interface ObjectStoreEndpoint {
  /** An S3-compatible server (http://127.0.0.1:9000). @default AWS's own */
  endpoint?: string;
  /** @default $AWS_REGION, else "us-east-1" */
  region?: string;
  /** Bucket in the URL path instead of the host name. @default true when `endpoint` is set */
  forcePathStyle?: boolean;
  /** Keys for this store alone. @default the AWS SDK's usual chain (environment, profile, instance role) */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Bytes this machine's cache of verified objects may fill (bytes, or "20GiB"); past it, the least
   * recently used objects not in use are removed. @default $TRAINYARD_OBJECT_CACHE_MAX, else a quarter of
   * the cache's file system
   */
  cacheMax?: number | string;
}

/** The short form of the artifact store: a directory or an `s3://bucket/prefix` URL. */
export interface StoreConfig extends ObjectStoreEndpoint {
  artifacts: string;
}

/**
 * What runs steps, by name: "local" (this machine's processes) or an executor registered by name
 * (e.g. a queue of workers); the options beside `kind` are that executor's own.
 */
export type ExecutorConfig = string | { kind: string; [option: string]: unknown };

export interface TrainyardConfig {
  /** Where runs and artifacts are kept. @default $TRAINYARD_HOME, else ".trainyard" in the working directory */
  home?: string;
  /** @default { kind: "sqlite" } at <home>/metadata.db; $TRAINYARD_METADATA_URL and --metadata-url win */
  metadata?: MetadataConfig;
  /** @default { kind: "fs" } at <home>/artifacts */
  artifacts?: ArtifactsConfig;
  /** The same choice as `artifacts`, written `{ artifacts: "s3://bucket/prefix", endpoint, region }`. */
  store?: StoreConfig;
  /** @default "local" */
  executor?: ExecutorConfig;
  /** Named param sets (dev, staging, prod) selected with `--profile`. */
  profiles?: Record<string, Record<string, unknown>>;
  /** Steps run at once. @default the number of CPUs */
  concurrency?: number;
  /** Triggers by the name of the pipeline they start, built with schedule(), sensor(), monitor(), onRunStatus(). */
  triggers?: Record<string, readonly TriggerDecl[]>;
}

export function defineConfig(config: TrainyardConfig): TrainyardConfig {
  return config;
}

/** Names of the config files looked for, in this order, in a directory. */
export const CONFIG_FILE_NAMES = ["trainyard.config.ts", "trainyard.config.mjs", "trainyard.config.js"] as const;
