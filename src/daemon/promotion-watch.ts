/** Alias moves made since the daemon last looked, found through the registry's cheap revision number. */
import type { Trainyard } from "../engine/trainyard.js";
import { openRegistry } from "../lib/registry/open-registry.js";
import type { AliasEvent, RegistryStore } from "../store/registry-store.js";

export class PromotionWatch {
  private readonly registry: RegistryStore;
  private revision?: number;
  private lastEventId = 0;

  constructor(ty: Trainyard) {
    this.registry = openRegistry(ty);
  }

  /** New promotions (alias set) since the previous call; the first call only takes a baseline. */
  async poll(): Promise<AliasEvent[]> {
    const revision = await this.registry.aliasRevision();
    if (revision === this.revision) return [];
    const baseline = this.revision === undefined;
    this.revision = revision;
    const fresh: AliasEvent[] = [];
    for (const m of await this.registry.listModels()) {
      for (const e of await this.registry.aliasHistory(m.name)) if (e.id > this.lastEventId) fresh.push(e);
    }
    for (const e of fresh) this.lastEventId = Math.max(this.lastEventId, e.id);
    return baseline ? [] : fresh.filter((e) => e.action === "set").sort((a, b) => a.id - b.id);
  }
}
