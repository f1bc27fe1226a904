/**
 * The model registry living next to a metadata store (same backend, same database): chosen here,
 * at the composition root, so that steps, the CLI and the server never pick an implementation.
 */
import { TrainyardError } from "../core/errors.js";
import type { MetadataStore } from "../store/metadata-store.js";
import { isPostgresMetadata, PostgresRegistryStore } from "../store/postgres-registry-store.js";
import type { RegistryStore } from "../store/registry-store.js";
import { SqliteMetadataStore } from "../store/sqlite-metadata-store.js";
import { SqliteRegistryStore } from "../store/sqlite-registry-store.js";

export function registryOf(metadata: MetadataStore): RegistryStore {
  if (metadata instanceof SqliteMetadataStore) return new SqliteRegistryStore(metadata);
  if (isPostgresMetadata(metadata)) return new PostgresRegistryStore(metadata);
  const message = `the model registry has no implementation for the "${metadata.backend}" metadata backend yet`;
  throw new TrainyardError("REGISTRY_UNSUPPORTED", message, { hint: "use the SQLite or PostgreSQL metadata store" });
}
