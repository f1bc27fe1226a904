/**
 * The registry of a running Trainyard, for steps, the CLI and the server: whatever the composition
 * root chose (the metadata store's database), reached through the public services, never reopened.
 */
import type { RegistryStore, TrainyardServices } from "../../index.js";

export { formatModelRef, parseModelRef, type ModelRef } from "../../index.js";

/** The registry next to the services' metadata (a Trainyard, or `await ctx.services()`). */
export function openRegistry(services: Pick<TrainyardServices, "registry">): RegistryStore {
  return services.registry;
}
