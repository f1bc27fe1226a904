/**
 * better-sqlite3's native addon, resolved from this package: dist/ bundles better-sqlite3's
 * JavaScript, whose own lookup of the addon would then search the wrong directory.
 */
import { createRequire } from "node:module";

let addonPath: string | null | undefined;

export function sqliteAddonPath(): string | undefined {
  if (addonPath === undefined) {
    try {
      addonPath = createRequire(import.meta.url).resolve("better-sqlite3/build/Release/better_sqlite3.node");
    } catch {
      addonPath = null;
    }
  }
  return addonPath ?? undefined;
}
