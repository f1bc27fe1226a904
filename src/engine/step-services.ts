/**
 * What a step reaches through `await ctx.services()`: the running Trainyard's stores, its model
 * registry and its query API, the same ones the run records into (a configured metadata file or
 * PostgreSQL database, never a second database opened by path). Library steps use nothing else.
 */
import type { ArtifactStore } from "../store/artifact-store.js";
import type { MetadataStore } from "../store/metadata-store.js";
import type { RegistryStore } from "../store/registry-store.js";
import type { TrainyardQuery } from "./query.js";

export interface TrainyardServices {
  /** The home directory of the running Trainyard (deploy hooks, notifications, logs). */
  readonly home: string;
  /** Runs, step runs, artifacts and lineage. */
  readonly metadata: MetadataStore;
  /** The content-addressed bytes of artifacts. */
  readonly artifacts: ArtifactStore;
  /** Models, versions, aliases and their history, in the same database as the runs. */
  readonly registry: RegistryStore;
  /** Read views shared with the CLI and the HTTP API. */
  readonly query: TrainyardQuery;
  /** The local path of a stored artifact after checking its bytes against the digest. */
  verifiedPath(digest: string, opts?: { use?: string }): Promise<string>;
  /** A step output as stored, with local paths for its artifacts. */
  loadValue(digest: string): Promise<unknown>;
}

// The authoring API (core) declares `ctx.services()`; its type is filled in here, where the stores are known.
declare module "../core/step.js" {
  interface StepServices extends TrainyardServices {}
}
