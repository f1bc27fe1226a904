/**
 * The API's bearer token: given (`--token`, $TRAINYARD_API_TOKEN) or generated on first start
 * and kept in `<home>/api-token` (mode 0600), so a restarted server keeps its clients working.
 * Compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ApiToken {
  value: string;
  /** Where it came from: "option", "environment", "home" (kept from an earlier start) or "generated". */
  source: "option" | "environment" | "home" | "generated";
  file?: string;
}

export function apiTokenFile(home: string): string {
  return join(home, "api-token");
}

export function resolveApiToken(home: string, given?: string): ApiToken {
  if (given) return { value: given, source: "option" };
  const env = process.env.TRAINYARD_API_TOKEN;
  if (env) return { value: env, source: "environment" };
  const file = apiTokenFile(home);
  if (existsSync(file)) {
    const kept = readFileSync(file, "utf8").trim();
    if (kept) return { value: kept, source: "home", file };
  }
  mkdirSync(home, { recursive: true });
  const value = randomBytes(24).toString("base64url");
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { value, source: "generated", file };
}

/** Equal strings, in time independent of where they differ (digests make the lengths equal). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
