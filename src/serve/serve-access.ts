/**
 * Who may call the model server: an optional bearer token, required as soon as the server listens
 * beyond loopback. Tokens are compared as SHA-256 digests with `timingSafeEqual`, so neither the
 * bytes nor the length of the expected token leak through response times.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { TrainyardError } from "../core/errors.js";

/** Shortest token accepted: anything shorter is guessable over a network. */
export const MIN_TOKEN_LENGTH = 16;
const TOKEN_HINT = "pass --token or set TRAINYARD_SERVE_TOKEN, e.g. TRAINYARD_SERVE_TOKEN=$(openssl rand -hex 32)";

export class BearerToken {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      const message = `the serve token must be at least ${MIN_TOKEN_LENGTH} characters without spaces`;
      throw new TrainyardError("SERVE_TOKEN_INVALID", message, { hint: TOKEN_HINT });
    }
    this.expected = digest(token);
  }

  /** Whether an `Authorization` header carries this token. */
  allows(header: string | undefined): boolean {
    if (header === undefined || header.length < 7 || header.slice(0, 7).toLowerCase() !== "bearer ") return false;
    return timingSafeEqual(digest(header.slice(7).trim()), this.expected);
  }
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/** Refuses to expose models beyond loopback without a token: an open predict endpoint is a data leak. */
export function requireTokenBeyondLoopback(host: string, token: BearerToken | undefined): void {
  if (token || isLoopbackHost(host)) return;
  const message = `refusing to serve on ${host} without a token: every host that can reach it could call the models`;
  throw new TrainyardError("SERVE_TOKEN_REQUIRED", message, {
    host,
    hint: `${TOKEN_HINT}; clients then send "Authorization: Bearer <token>". Or listen on 127.0.0.1 behind a proxy`,
  });
}
