/**
 * The run page opened at a run-id prefix that several runs share (a truncated link, an id typed
 * by hand): which runs it matched, each a link to its own page, instead of a failed load.
 */
import { ApiError } from "../../api/client";
import { links } from "../../api/endpoints";
import type { AmbiguousRunMatch } from "../../api/types";
import { StatusBadge } from "../../components/status";
import { Time } from "../../components/time";
import { Link } from "../../router";

export interface AmbiguousRun {
  /** How many runs the prefix matched; the server lists only the newest few of them. */
  total: number;
  /** The newest matches first, each with the shortest prefix that names it alone. */
  matches: AmbiguousRunMatch[];
}

/** The matches of a RUN_AMBIGUOUS answer; undefined for any other error (shown as before). */
export function ambiguousRunOf(error: unknown): AmbiguousRun | undefined {
  if (!(error instanceof ApiError) || error.code !== "RUN_AMBIGUOUS") return undefined;
  const matches = error.body.matches;
  if (!Array.isArray(matches) || matches.length === 0) return undefined;
  return { total: Math.max(error.body.matchCount ?? matches.length, matches.length), matches };
}

export function AmbiguousRunChoice({
  prefix,
  ambiguity,
  stepId,
}: {
  prefix: string;
  ambiguity: AmbiguousRun;
  /** The step the address named, kept in each run's link. */
  stepId?: string;
}) {
  const { total, matches } = ambiguity;
  const more = total - matches.length;
  return (
    <section className="panel" aria-labelledby="ambiguous-run-h" data-testid="ambiguous-run">
      <h1 id="ambiguous-run-h" style={{ marginTop: 0 }}>
        Run id prefix <span className="mono">{prefix}</span> matches {total} runs
      </h1>
      <table>
        <caption className="small muted" style={{ textAlign: "left" }}>
          {more > 0 ? `The newest ${matches.length} of the ${total} runs` : "The runs"} whose id begins with{" "}
          <code>{prefix}</code>, newest first
        </caption>
        <thead>
          <tr>
            <th scope="col">run</th>
            <th scope="col">pipeline</th>
            <th scope="col">started</th>
            <th scope="col">status</th>
          </tr>
        </thead>
        <tbody>
          {matches.map((m) => (
            <tr key={m.id} data-run={m.id}>
              <td>
                <Link href={stepId ? links.step(m.id, stepId) : links.run(m.id)} className="mono">
                  <strong>{m.id.slice(0, m.uniquePrefix.length)}</strong>
                  {m.id.slice(m.uniquePrefix.length)}
                </Link>
              </td>
              <td>{m.pipeline}</td>
              <td>
                <Time ms={m.startedAt} />
              </td>
              <td>
                <StatusBadge status={m.status} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {more > 0 && (
        <p className="small muted">
          … and {more} more: the <Link href="/runs">runs list</Link> shows them all.
        </p>
      )}
      <div className="hint">
        <strong>Hint:</strong> open a run by its full id. The characters in bold are the fewest that name each run
        alone.
      </div>
    </section>
  );
}
