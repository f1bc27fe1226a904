/** The task fence living next to a metadata store: same backend, same database. */
import { TrainyardError } from "../core/errors.js";
import type { MetadataStore } from "./metadata-store.js";
import { SqliteMetadataStore } from "./sqlite-metadata-store.js";
import { SqliteTaskFenceStore } from "./sqlite-task-fence.js";
import type { TaskFenceStore } from "./task-fence.js";

export async function taskFenceFor(metadata: MetadataStore): Promise<TaskFenceStore> {
  if (metadata instanceof SqliteMetadataStore) return new SqliteTaskFenceStore(metadata);
  if (metadata.backend === "postgres") {
    // Loaded on demand: `pg` stays off the start-up path of SQLite homes.
    const { isPostgresMetadata } = await import("./postgres-registry-store.js");
    const { PostgresTaskFenceStore } = await import("./postgres-task-fence.js");
    if (isPostgresMetadata(metadata)) return new PostgresTaskFenceStore(metadata);
  }
  throw new TrainyardError(
    "CONFIG_INVALID",
    `the queue executor's task fence has no implementation for the "${metadata.backend}" metadata backend`,
    { hint: "use the SQLite or PostgreSQL metadata store" },
  );
}
