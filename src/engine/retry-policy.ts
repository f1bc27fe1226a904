/** Turns a step's `retry` option into a full policy and computes backoff delays with jitter. */
import { isFatal } from "../core/errors.js";
import type { RetryPolicy } from "../core/step.js";

export interface CompiledRetryPolicy {
  attempts: number;
  initialDelayMs: number;
  backoff: number;
  maxDelayMs: number;
  jitter: number;
  retryOn: (error: unknown) => boolean;
}

export function compileRetryPolicy(retry: number | RetryPolicy | undefined): CompiledRetryPolicy {
  const p: RetryPolicy = typeof retry === "number" ? { attempts: retry + 1 } : (retry ?? {});
  return {
    attempts: Math.max(1, Math.floor(p.attempts ?? 1)),
    initialDelayMs: p.initialDelayMs ?? 500,
    backoff: p.backoff ?? 2,
    maxDelayMs: p.maxDelayMs ?? 30_000,
    jitter: Math.min(1, Math.max(0, p.jitter ?? 0.25)),
    retryOn: p.retryOn ?? (() => true),
  };
}

/** Whether a failed attempt (1-based) gets another try. */
export function shouldRetry(policy: CompiledRetryPolicy, attempt: number, error: unknown): boolean {
  if (attempt >= policy.attempts || isFatal(error)) return false;
  try {
    return policy.retryOn(error);
  } catch {
    return false;
  }
}

/** Delay before attempt `attempt + 1`: initial * backoff^(attempt-1), capped, +-jitter. */
export function retryDelay(policy: CompiledRetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoff ** (attempt - 1));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + 2 * spread * random()));
}
