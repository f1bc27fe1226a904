/**
 * Triggers: every schedule, sensor and monitor with its next and last tick, each tick's outcome
 * and reason, pause/unpause and a preview. Times carry their time zone (the trigger's own when set).
 */
import { useState } from "react";
import { api } from "../api/client";
import { endpoints, links } from "../api/endpoints";
import { useLiveRefresh } from "../api/live";
import { useApi } from "../api/use-api";
import type { Preview, Tick, TickList, TriggerList, TriggerView } from "../api/types";
import { ErrorBox, Loading } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { Time } from "../components/time";
import { Link, useTitle } from "../router";

export default function Triggers({ selected }: { selected?: string }) {
  useTitle(selected ? `Trigger ${selected}` : "Triggers");
  const list = useApi<TriggerList>(endpoints.triggers());
  useLiveRefresh((e) => e.type === "tick", list.refresh, 300);
  const current = list.data?.triggers.find((t) => t.trigger === selected);
  return (
    <div>
      <h1>Triggers</h1>
      {!list.data ? (
        <Loading error={list.error} what="triggers" />
      ) : list.data.triggers.length === 0 ? (
        <p className="muted">No triggers: declare p.schedule, p.sensor or p.monitor in a pipeline module.</p>
      ) : (
        <table className="panel">
          <thead>
            <tr>
              <th>trigger</th>
              <th>kind</th>
              <th>what</th>
              <th>next tick</th>
              <th>last tick</th>
              <th>state</th>
            </tr>
          </thead>
          <tbody>
            {list.data.triggers.map((t) => (
              <tr key={t.trigger} aria-current={t.trigger === selected ? "true" : undefined}>
                <td>
                  <Link href={links.trigger(t.trigger)}>{t.trigger}</Link>
                </td>
                <td>{t.kind ?? "—"}</td>
                <td className="small">{t.what ?? "—"}</td>
                <td>
                  {t.nextTick ? (
                    <Time ms={t.nextTick} zone={t.timezone} />
                  ) : (
                    <span className="small">{t.next ?? "—"}</span>
                  )}
                </td>
                <td>{t.lastTick ? <TickOutcome tick={t.lastTick} /> : <span className="muted">none yet</span>}</td>
                <td>
                  <StatusBadge status={t.paused ? "paused" : t.failures ? "failing" : "active"} />
                  {t.lastError && <span className="small"> {t.lastError.message}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected &&
        (current ? (
          <TriggerDetail key={selected} trigger={current} onChanged={list.refresh} />
        ) : (
          list.data && (
            <ErrorBox
              error={{ code: "NOT_FOUND", message: `no trigger ${selected}`, hint: "pick one from the list above" }}
            />
          )
        ))}
    </div>
  );
}

function TickOutcome({ tick }: { tick: Tick }) {
  const word = tick.status === "requested" ? "ran" : tick.status;
  return (
    <span>
      <StatusBadge status={word} /> <span className="small">{tick.reason}</span>
    </span>
  );
}

function TriggerDetail({ trigger, onChanged }: { trigger: TriggerView; onChanged: () => void }) {
  const ticks = useApi<TickList>(endpoints.ticks(trigger.trigger, 100));
  useLiveRefresh((e) => e.type === "tick", ticks.refresh, 200);
  const [action, setAction] = useState<{ error?: unknown; preview?: Preview; busy?: boolean }>({});
  const setPaused = async (paused: boolean) => {
    setAction({ busy: true });
    try {
      await api.post(endpoints.pause(trigger.trigger, paused), {});
      setAction({});
      onChanged();
      ticks.refresh();
    } catch (error) {
      setAction({ error });
    }
  };
  const preview = async () => {
    setAction({ busy: true });
    try {
      setAction({ preview: await api.post<Preview>(endpoints.preview(trigger.trigger), {}) });
    } catch (error) {
      setAction({ error });
    }
  };
  return (
    <section className="panel" aria-labelledby="trigger-h" data-testid="trigger-detail">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 id="trigger-h" style={{ margin: 0 }}>
          {trigger.trigger}
        </h2>
        <div className="row">
          {trigger.paused ? (
            <button type="button" onClick={() => void setPaused(false)} disabled={action.busy}>
              Unpause
            </button>
          ) : (
            <button type="button" onClick={() => void setPaused(true)} disabled={action.busy}>
              Pause
            </button>
          )}
          <button type="button" onClick={() => void preview()} disabled={action.busy}>
            Preview
          </button>
        </div>
      </div>
      <p className="small">
        {trigger.what} · next:{" "}
        {trigger.nextTick ? <Time ms={trigger.nextTick} zone={trigger.timezone} /> : (trigger.next ?? "—")}
        {trigger.timezone && (
          <>
            {" "}
            · time zone <strong>{trigger.timezone}</strong>
          </>
        )}
        {trigger.evaluatedAt && (
          <>
            {" "}
            · last evaluated <Time ms={trigger.evaluatedAt} />
          </>
        )}
      </p>
      {action.error !== undefined && <ErrorBox error={action.error} />}
      {action.preview && (
        <div data-testid="trigger-preview">
          <h3>Preview (nothing launched)</h3>
          <pre className="mono log" style={{ padding: 8 }}>
            {JSON.stringify(action.preview, null, 2)}
          </pre>
        </div>
      )}
      <h3>Ticks</h3>
      {!ticks.data ? (
        <Loading error={ticks.error} what="ticks" />
      ) : ticks.data.ticks.length === 0 ? (
        <p className="muted">No ticks yet.</p>
      ) : (
        <table data-testid="ticks">
          <thead>
            <tr>
              <th>for</th>
              <th>outcome</th>
              <th>reason</th>
              <th>runs</th>
              <th>evaluated</th>
            </tr>
          </thead>
          <tbody>
            {ticks.data.ticks.map((t) => (
              <tr key={t.key} data-status={t.status}>
                <td>
                  <Time ms={t.scheduledAt} zone={trigger.timezone} />
                </td>
                <td>
                  <StatusBadge status={t.status === "requested" ? "ran" : t.status} />
                </td>
                <td className="small">
                  {t.reason}
                  {t.error && <> — {t.error.message}</>}
                </td>
                <td>
                  {(t.runIds ?? []).map((id) => (
                    <Link key={id} href={links.run(id)} className="mono small">
                      {id}{" "}
                    </Link>
                  ))}
                </td>
                <td>
                  <Time ms={t.evaluatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
