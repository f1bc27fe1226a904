/** The tick ledger living next to a metadata store: same backend, same database. */
import { TrainyardError } from "../core/errors.js";
import type { MetadataStore } from "./metadata-store.js";
import { SqliteMetadataStore } from "./sqlite-metadata-store.js";
import { SqliteTickStore } from "./sqlite-tick-store.js";
import type { TickStore } from "./tick-store.js";

export async function tickStoreFor(metadata: MetadataStore): Promise<TickStore> {
  if (metadata instanceof SqliteMetadataStore) return new SqliteTickStore(metadata);
  if (metadata.backend === "postgres") {
    // Loaded on demand: `pg` stays off the start-up path of SQLite homes.
    const { isPostgresMetadata } = await import("./postgres-registry-store.js");
    const { PostgresTickStore } = await import("./postgres-tick-store.js");
    if (isPostgresMetadata(metadata)) return new PostgresTickStore(metadata);
  }
  throw new TrainyardError(
    "CONFIG_INVALID",
    `the tick ledger has no implementation for the "${metadata.backend}" metadata backend`,
    {
      hint: "use the SQLite or PostgreSQL metadata store",
    },
  );
}
