/**
 * When a failed S3 request (a part, a range) is worth sending again, and how long to wait first;
 * and when it failed because the object is not there.
 */

/** The object (or the key) does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
}

/** A 4xx answer other than a timeout or throttling: the same request would be refused again. */
export function refusedForGood(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** 100 ms after the first failure, 200 ms after the second, and so on. */
export function pauseBeforeTry(failures: number): Promise<void> {
  return new Promise((resume) => setTimeout(resume, 100 * failures));
}
