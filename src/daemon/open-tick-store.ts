/** The tick ledger living next to a home's metadata: same backend, same database. */
import type { Trainyard } from "../engine/trainyard.js";
import { tickStoreFor } from "../store/tick-store-for.js";
import type { TickStore } from "../store/tick-store.js";

export function openTickStore(ty: Trainyard): Promise<TickStore> {
  return tickStoreFor(ty.metadata);
}
