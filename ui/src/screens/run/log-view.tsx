/**
 * A step's log that follows while the step runs: the lines so far in one request, then new lines
 * as the API streams them. Every line has a link (`#L<offset>`) to share it.
 */
import { useEffect, useRef, useState } from "react";
import { accessToken, api, API_BASE } from "../../api/client";
import { endpoints, links } from "../../api/endpoints";
import type { LogLine, LogPage } from "../../api/types";
import { ErrorBox } from "../../components/error-box";

export function LogView({
  runId,
  stepId,
  attempt,
  target,
}: {
  runId: string;
  stepId: string;
  attempt?: number;
  target?: number;
}) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>();
  const [follow, setFollow] = useState(target === undefined);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setLines([]);
    setDone(false);
    setError(undefined);
    const seen = new Set<number>();
    let source: EventSource | undefined;
    let closed = false;
    const add = (incoming: LogLine[]) => {
      const fresh = incoming.filter((l) => !seen.has(l.offset) && (attempt === undefined || l.attempt === attempt));
      fresh.forEach((l) => seen.add(l.offset));
      if (fresh.length) setLines((prev) => [...prev, ...fresh].sort((a, b) => a.offset - b.offset));
    };
    api.get<LogPage>(endpoints.stepLogs(runId, stepId, { attempt })).then(
      (page) => {
        if (closed) return;
        add(page.lines);
        if (page.done) return setDone(true);
        const q = new URLSearchParams({ follow: "true", offset: String(page.nextOffset) });
        if (attempt !== undefined) q.set("attempt", String(attempt));
        const token = accessToken();
        if (token) q.set("token", token);
        source = new EventSource(`${API_BASE}${endpoints.stepLogs(runId, stepId)}?${q}`);
        const onLine = (ev: MessageEvent<string>) => {
          try {
            const d = JSON.parse(ev.data) as LogLine & { type?: string };
            if (typeof d.line === "string") add([d]);
          } catch {
            // A keep-alive or a line the stream could not frame: nothing to show.
          }
        };
        source.addEventListener("log", onLine as EventListener);
        source.onmessage = onLine;
        const finish = () => {
          setDone(true);
          source?.close();
        };
        source.addEventListener("done", finish);
        source.addEventListener("end", finish);
      },
      (err) => !closed && setError(err),
    );
    return () => {
      closed = true;
      source?.close();
    };
  }, [runId, stepId, attempt]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: new lines are when to scroll to the end.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    if (target !== undefined) {
      el.querySelector(`#L${target}`)?.scrollIntoView({ block: "center" });
    } else if (follow) {
      el.scrollTop = el.scrollHeight;
    }
  }, [lines, follow, target]);

  if (error) return <ErrorBox error={error} title="Could not load the log" />;
  return (
    <div>
      <div className="row small" style={{ marginBottom: 4 }}>
        <span className="muted" role="status">
          {lines.length} lines{done ? "" : ", following…"}
        </span>
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> scroll to new lines
        </label>
      </div>
      {/* A log role: new lines are announced; its line links take keyboard focus, so no tabIndex is needed. */}
      <div className="log mono" ref={box} role="log" aria-label={`log of step ${stepId}`} data-testid="step-log">
        {lines.length === 0 && (
          <div className="muted" style={{ padding: "0 8px" }}>
            {done ? "No output." : "Waiting for output…"}
          </div>
        )}
        {lines.map((l) => (
          <div
            key={l.offset}
            id={`L${l.offset}`}
            className={`line stream-${l.stream}${l.offset === target ? " target" : ""}`}
          >
            <a href={links.logLine(runId, stepId, l.offset, attempt)} aria-label={`line ${l.offset + 1}`}>
              {l.offset + 1}
            </a>
            <span>{l.line}</span>
          </div>
        ))}
      </div>
    </div>
  );
}
