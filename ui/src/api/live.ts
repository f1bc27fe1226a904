/**
 * Live updates over Server-Sent Events: the home's stream (`/events`: run states, ticks) and a
 * run's own (`/runs/{id}/events`: its run and step states). One EventSource per stream and tab,
 * shared by every component that listens; the browser reconnects by itself and sends
 * `Last-Event-ID`, so the server replays what was missed.
 */
import { useEffect, useRef, useState } from "react";
import { accessToken, API_BASE } from "./client";

export interface LiveEvent {
  /** The SSE event name: run, step, log, tick. */
  type: string;
  id?: string;
  data: Record<string, unknown>;
}

type Listener = (e: LiveEvent) => void;
export type StreamStatus = "connecting" | "open" | "down";

const EVENT_TYPES = ["run", "step", "log", "tick", "message"];
export const HOME_STREAM = "/events";

interface Stream {
  source: EventSource;
  listeners: Set<Listener>;
  status: StreamStatus;
  statusListeners: Set<(s: StreamStatus) => void>;
}

const streams = new Map<string, Stream>();

function streamOf(path: string): Stream {
  const existing = streams.get(path);
  if (existing) return existing;
  const stream: Stream = {
    source: connect(path),
    listeners: new Set(),
    status: "connecting",
    statusListeners: new Set(),
  };
  streams.set(path, stream);
  wire(path, stream);
  return stream;
}

function connect(path: string): EventSource {
  const token = accessToken();
  return new EventSource(API_BASE + path + (token ? `?token=${encodeURIComponent(token)}` : ""));
}

function wire(path: string, stream: Stream): void {
  const setStatus = (s: StreamStatus) => {
    stream.status = s;
    stream.statusListeners.forEach((l) => l(s));
  };
  const source = stream.source;
  source.onopen = () => setStatus("open");
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) return setStatus("connecting");
    // An error response (a run not recorded yet, a restarting server) ends an EventSource for
    // good; open a new one while anyone still listens.
    setStatus("down");
    window.setTimeout(() => {
      if (streams.get(path) !== stream || (!stream.listeners.size && !stream.statusListeners.size)) return;
      stream.source = connect(path);
      wire(path, stream);
    }, 1000);
  };
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (ev) => {
      const msg = ev as MessageEvent<string>;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(msg.data);
      } catch {
        return;
      }
      const named = type === "message" && typeof data.type === "string" ? data.type : type;
      const event: LiveEvent = { type: named, id: msg.lastEventId, data };
      stream.listeners.forEach((l) => l(event));
    });
  }
}

/** Closes a run's stream once nothing listens to it (the home's stays open for the tab). */
function release(path: string, stream: Stream): void {
  if (path === HOME_STREAM || stream.listeners.size || stream.statusListeners.size) return;
  stream.source.close();
  streams.delete(path);
}

/**
 * Calls `onEvent` for every event of the stream at `path` while the component is mounted;
 * `null` listens to nothing (a finished run's stream, which the server ends).
 */
export function useLiveEvents(onEvent: Listener, path: string | null = HOME_STREAM): void {
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(() => {
    if (path === null) return;
    const stream = streamOf(path);
    const l: Listener = (e) => latest.current(e);
    stream.listeners.add(l);
    return () => {
      stream.listeners.delete(l);
      release(path, stream);
    };
  }, [path]);
}

/** Whether the home's live stream is connected, for the navigation's indicator. */
export function useStreamStatus(path: string = HOME_STREAM): StreamStatus {
  const [s, set] = useState<StreamStatus>("connecting");
  useEffect(() => {
    const stream = streamOf(path);
    set(stream.status);
    stream.statusListeners.add(set);
    return () => {
      stream.statusListeners.delete(set);
      release(path, stream);
    };
  }, [path]);
  return s;
}

/**
 * Calls `refresh` at most once per `ms` while matching events arrive, so a burst of step events
 * on a 1,000-step run costs a few reloads, not a thousand.
 */
export function useLiveRefresh(
  match: (e: LiveEvent) => boolean,
  refresh: () => void,
  ms = 150,
  path?: string | null,
): void {
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  useLiveEvents((e) => {
    if (!match(e) || timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      refresh();
    }, ms);
  }, path);
}
