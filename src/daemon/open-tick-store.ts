/** The tick ledger living next to a home's metadata: same backend, same database. */
import { TrainyardError } from "../core/errors.js";
import type { Trainyard } from "../engine/trainyard.js";
import { SqliteMetadataStore } from "../store/sqlite-metadata-store.js";
import { SqliteTickStore } from "../store/sqlite-tick-store.js";
import type { TickStore } from "../store/tick-store.js";

export async function openTickStore(ty: Trainyard): Promise<TickStore> {
  if (ty.metadata instanceof SqliteMetadataStore) return new SqliteTickStore(ty.metadata);
  if (ty.metadata.backend === "postgres") {
    // Loaded on demand: `pg` stays off the start-up path of SQLite homes.
    const { isPostgresMetadata } = await import("../store/postgres-registry-store.js");
    const { PostgresTickStore } = await import("../store/postgres-tick-store.js");
    if (isPostgresMetadata(ty.metadata)) return new PostgresTickStore(ty.metadata);
  }
  throw new TrainyardError("CONFIG_INVALID", `the tick ledger has no implementation for the "${ty.metadata.backend}" metadata backend`, {
    hint: "use the SQLite or PostgreSQL metadata store",
  });
}
