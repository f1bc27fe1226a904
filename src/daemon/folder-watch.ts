/**
 * Wakes a sensor's loop early when something changes in its folder. Only a hint: events can be
 * lost, coalesced or unsupported (network file systems), so the poll stays the source of truth
 * and this never says what changed.
 */
import { watch, type FSWatcher } from "node:fs";

export type WakeReason = "change" | "timeout" | "aborted";

/** Resolves on the first change under `folder`, after `timeoutMs`, or when `signal` aborts. */
export function waitForFolderChange(folder: string, timeoutMs: number, signal?: AbortSignal): Promise<WakeReason> {
  if (signal?.aborted) return Promise.resolve("aborted");
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const finish = (reason: WakeReason) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      watcher?.close();
      resolve(reason);
    };
    const onAbort = () => finish("aborted");
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    watcher = openWatcher(folder, () => finish("change"));
  });
}

function openWatcher(folder: string, onChange: () => void): FSWatcher | undefined {
  for (const recursive of [true, false]) {
    try {
      const w = watch(folder, { recursive, persistent: false }, onChange);
      // A watcher that fails later (folder removed) leaves the timeout to wake the loop.
      w.on("error", () => w.close());
      return w;
    } catch {
      // Recursive watching is missing on some platforms; a missing folder has nothing to watch.
    }
  }
  return undefined;
}
