/**
 * Workers: per queue of the queue executor, its job counts, the workers listed on it with their
 * slots, and the tasks they run now with claim and heartbeat ages. A queue with waiting tasks and no
 * worker is a warning at the top. Nothing pushes these, so the screen asks again every few seconds.
 */
import { endpoints, links } from "../api/endpoints";
import type { QueueOverview, WorkersOverview } from "../api/types";
import { usePolling } from "../api/use-polling";
import { useApi } from "../api/use-api";
import { Loading } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { formatDuration } from "../components/time";
import { Link, useTitle } from "../router";

const REFRESH_MS = 3000;

export default function Workers() {
  useTitle("Workers");
  const overview = useApi<WorkersOverview>(endpoints.workers());
  usePolling(overview.refresh, REFRESH_MS);
  const doc = overview.data;
  return (
    <div>
      <h1>Workers</h1>
      {!doc ? (
        <Loading error={overview.error} what="workers" />
      ) : !doc.queueExecutor ? (
        <div className="panel" data-testid="no-queue-executor">
          <p>Steps run on this machine; no queue executor is configured.</p>
          {doc.note && <p className="small muted">{doc.note}</p>}
        </div>
      ) : (
        <>
          {doc.problems.map((p) => (
            <Problem key={p} text={p} />
          ))}
          <p className="small muted">
            Queues in {doc.queueStore ?? "the queue store"}
            {doc.lockMs !== undefined && (
              <>; a task whose heartbeat is older than {formatDuration(doc.lockMs)} may be lost</>
            )}
            . Refreshed every {REFRESH_MS / 1000} s while this tab is visible.
          </p>
          {doc.queues.length === 0 ? (
            <p className="muted">No queue has been used yet.</p>
          ) : (
            doc.queues.map((q) => <QueueSection key={q.queue} queue={q} />)
          )}
        </>
      )}
    </div>
  );
}

/** A problem line reads "<what is wrong>: <what to do>"; the second half is shown as its hint. */
function Problem({ text }: { text: string }) {
  const at = text.indexOf(": start ");
  const [what, todo] = at >= 0 ? [text.slice(0, at), text.slice(at + 2)] : [text, undefined];
  return (
    <div className="warning-box" role="alert" data-testid="workers-problem">
      <StatusBadge status="warn" /> {what}
      {todo && (
        <div className="hint">
          <strong>Hint:</strong> <WithCode text={todo} />
        </div>
      )}
    </div>
  );
}

/** Text whose `backticked` parts are commands, shown as code. */
function WithCode({ text }: { text: string }) {
  return (
    <>
      {text.split("`").map((part, i) =>
        i % 2 === 1 ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string never move.
          <code key={i}>{part}</code>
        ) : (
          part
        ),
      )}
    </>
  );
}

function QueueSection({ queue: q }: { queue: QueueOverview }) {
  const id = `queue-${q.queue}`;
  return (
    <section className="panel" aria-labelledby={id} data-testid="queue" data-queue={q.queue}>
      <h2 id={id} style={{ margin: 0 }}>
        queue {q.queue}
      </h2>
      <p className="small" data-testid="queue-counts">
        waiting {q.counts.waiting} · active {q.counts.active} · delayed {q.counts.delayed} · failed {q.counts.failed}
        {" · "}
        {q.workers.length} worker(s), {q.slots} slot(s)
        {q.unattended && (
          <>
            {" "}
            <StatusBadge status="unattended" title="tasks wait and no worker takes from this queue" />
          </>
        )}
      </p>
      <h3>Workers</h3>
      {q.workers.length === 0 ? (
        <p className="muted">
          No worker takes from this queue: start one with <code>trainyard worker --queue {q.queue}</code>.
        </p>
      ) : (
        <table data-testid="queue-workers">
          <thead>
            <tr>
              <th>worker</th>
              <th>slots</th>
              <th>address</th>
              <th>connected</th>
            </tr>
          </thead>
          <tbody>
            {q.workers.map((w) => (
              <tr key={w.label}>
                <td>{w.label}</td>
                <td>{w.slots}</td>
                <td>{w.address ?? "—"}</td>
                <td>{w.connectedSeconds === undefined ? "—" : `for ${formatDuration(w.connectedSeconds * 1000)}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Running now</h3>
      {q.running.length === 0 ? (
        <p className="muted">No task runs on this queue now.</p>
      ) : (
        <table data-testid="queue-running">
          <thead>
            <tr>
              <th>run</th>
              <th>step</th>
              <th>worker</th>
              <th>claimed</th>
              <th>last heartbeat</th>
              <th>state</th>
            </tr>
          </thead>
          <tbody>
            {q.running.map((t) => (
              <tr key={t.attemptId}>
                <td>
                  <Link href={links.run(t.runId)}>{t.runId}</Link>
                </td>
                <td>
                  <Link href={links.step(t.runId, t.stepId)}>{t.stepId}</Link>
                  {t.itemIndex !== undefined && <span className="small"> [item {t.itemIndex}]</span>}
                </td>
                <td>{t.worker ?? "—"}</td>
                <td>{formatDuration(t.claimAgeMs)} ago</td>
                <td>{formatDuration(t.heartbeatAgeMs)} ago</td>
                <td>
                  {t.possiblyLost ? (
                    <StatusBadge status="possibly lost" title="its heartbeat is older than the queue's lock time" />
                  ) : (
                    <StatusBadge status="ok" />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
