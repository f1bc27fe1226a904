/** Sizes as people write them in config and environment variables: "64MiB", "500k", "20G". */
import { TrainyardError } from "./errors.js";

const MiB = 1024 * 1024;
const UNITS: Record<string, number> = {
  ...{ "": 1, b: 1, k: 1024, kb: 1000, kib: 1024 },
  ...{ m: MiB, mb: 1e6, mib: MiB, g: 1024 * MiB, gb: 1e9, gib: 1024 * MiB },
  ...{ t: 1024 * 1024 * MiB, tb: 1e12, tib: 1024 * 1024 * MiB },
};

/** "64MiB", "500k", "1000000" as bytes; CONFIG_INVALID naming `what` otherwise. */
export function parseByteSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new TrainyardError("CONFIG_INVALID", `${what}=${JSON.stringify(text)} is not a size`, {
      field: what,
      hint: `give bytes, or a number with a unit: ${what}=64MiB, 500k, 2G`,
    });
  }
  return Math.floor(Number(m[1]) * unit);
}
