/**
 * Data hooks over the client: a GET that reloads when its path changes or when `refresh()` is
 * called (screens call it on live events), keeping the last value while reloading so nothing flickers.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "./client";

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  refresh: () => void;
}

export function useApi<T>(path: string | undefined): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean; path?: string }>({ loading: true });
  const [tick, setTick] = useState(0);
  const inFlight = useRef(false);
  const pending = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `tick` is how refresh() asks again.
  useEffect(() => {
    if (!path) return;
    const ctl = new AbortController();
    inFlight.current = true;
    setState((s) => ({ ...s, loading: true, data: s.path === path ? s.data : undefined }));
    api
      .get<T>(path, ctl.signal)
      .then((data) => setState({ data, loading: false, path }))
      .catch((error) => {
        if (!ctl.signal.aborted)
          setState((s) => ({ data: s.path === path ? s.data : undefined, error, loading: false, path }));
      })
      .finally(() => {
        inFlight.current = false;
        // Events that arrived during the request get one more reload, not one each.
        if (pending.current && !ctl.signal.aborted) {
          pending.current = false;
          setTick((t) => t + 1);
        }
      });
    return () => ctl.abort();
  }, [path, tick]);
  const refresh = useCallback(() => {
    if (inFlight.current) pending.current = true;
    else setTick((t) => t + 1);
  }, []);
  return { ...state, refresh };
}
