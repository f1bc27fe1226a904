/**
 * Asks again every `everyMs` while the tab is visible: for what changes without a live event (the
 * queues' workers and the tasks they hold). A hidden tab costs the server nothing; showing it again
 * reloads at once.
 */
import { useEffect } from "react";

export function usePolling(refresh: () => void, everyMs: number): void {
  useEffect(() => {
    let timer: number | undefined;
    const start = () => {
      if (timer === undefined && !document.hidden) timer = window.setInterval(refresh, everyMs);
    };
    const stop = () => {
      window.clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = () => {
      if (document.hidden) return stop();
      refresh();
      start();
    };
    start();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stop();
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [refresh, everyMs]);
}
