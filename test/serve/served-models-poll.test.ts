/**
 * The model server's watch of the registry while the registry's database is away: a read of the alias
 * revision waits for the database (postgres-reconnect.ts), and the 200 ms timer must not pile up reads
 * meanwhile. One check at a time; a check after it ends reads again.
 */
import { expect, it } from "vitest";
import { ServedModels, type ServedModelsDeps } from "../../src/serve/served-models.js";
import type { RegistryStore } from "../../src/store/registry-store.js";

it("checks the alias revision once at a time while a check waits for the database", async () => {
  let reads = 0;
  let away = true;
  let back!: () => void;
  const returned = new Promise<void>((resolve) => (back = resolve));
  // A registry whose database is away: a read of the revision waits until it is back.
  const registry = {
    aliasRevision: async () => {
      reads++;
      if (away) await returned;
      return 0;
    },
  } as unknown as RegistryStore;
  const served = new ServedModels({ registry } as ServedModelsDeps, { targets: [] });
  const ticks = [served.poll(), served.poll(), served.poll()];
  expect(reads).toBe(1);
  // Back: the check ends (its refresh fails on this registry and is reported, not thrown).
  away = false;
  back();
  await Promise.all(ticks);
  const before = reads;
  await served.poll();
  expect(reads).toBeGreaterThan(before);
});
