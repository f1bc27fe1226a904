/**
 * Live updates: one Server-Sent Events stream per tab, shared by every screen. The browser's
 * EventSource reconnects by itself and sends `Last-Event-ID`, so the server replays what was missed.
 */
import { useEffect, useRef, useState } from "react";
import { accessToken, API_BASE } from "./client";

export interface LiveEvent {
  /** The SSE event name: run, step, log, tick, ... */
  type: string;
  id?: string;
  data: Record<string, unknown>;
}

type Listener = (e: LiveEvent) => void;

const EVENT_TYPES = ["run", "step", "log", "tick", "alias", "attempt", "metric", "message"];
const listeners = new Set<Listener>();
const statusListeners = new Set<(s: StreamStatus) => void>();
let source: EventSource | undefined;
let status: StreamStatus = "connecting";

export type StreamStatus = "connecting" | "open" | "down";

function setStatus(s: StreamStatus): void {
  status = s;
  statusListeners.forEach((l) => l(s));
}

function open(): void {
  if (source) return;
  const token = accessToken();
  const url = API_BASE + "/events" + (token ? `?token=${encodeURIComponent(token)}` : "");
  source = new EventSource(url);
  source.onopen = () => setStatus("open");
  source.onerror = () => setStatus(source?.readyState === EventSource.CLOSED ? "down" : "connecting");
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (ev) => {
      const msg = ev as MessageEvent<string>;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(msg.data);
      } catch {
        data = { text: msg.data };
      }
      const event: LiveEvent = { type: typeof data.type === "string" && type === "message" ? data.type : type, id: msg.lastEventId, data };
      listeners.forEach((l) => l(event));
    });
  }
}

/** Calls `onEvent` for every live event while the component is mounted. */
export function useLiveEvents(onEvent: Listener): void {
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(() => {
    open();
    const l: Listener = (e) => latest.current(e);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
}

/** Whether the live stream is connected, for the header's indicator. */
export function useStreamStatus(): StreamStatus {
  const [s, set] = useState(status);
  useEffect(() => {
    open();
    statusListeners.add(set);
    return () => {
      statusListeners.delete(set);
    };
  }, []);
  return s;
}

/**
 * Calls `refresh` at most once per `ms` while matching events arrive, so a burst of step events
 * on a 1,000-step run costs a few reloads, not a thousand.
 */
export function useLiveRefresh(match: (e: LiveEvent) => boolean, refresh: () => void, ms = 150): void {
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  useLiveEvents((e) => {
    if (!match(e) || timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      refresh();
    }, ms);
  });
}
