/**
 * A page opened at a run-id prefix that several runs share (a truncated link, an id typed by hand):
 * which runs it matched, each a link to the same page for that run, instead of a failed load. The
 * run page, the compare view and the data report pages show it alike.
 */
import { ApiError } from "../api/client";
import type { AmbiguousRunMatch } from "../api/types";
import { Link } from "../router";
import { StatusBadge } from "./status";
import { Time } from "./time";

export interface AmbiguousRun {
  /** The prefix the server refused, as it names it (for compare: which of the runs asked for). */
  prefix?: string;
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
  const total = Math.max(error.body.matchCount ?? matches.length, matches.length);
  return { prefix: error.body.runId, total, matches };
}

export function AmbiguousRunChoice({
  prefix,
  ambiguity,
  linkTo,
  heading: Heading = "h1",
}: {
  prefix: string;
  ambiguity: AmbiguousRun;
  /** The address of the page the prefix was given to, for one of the runs it matched. */
  linkTo: (runId: string) => string;
  /** h2 where the page has a title of its own. @default "h1" */
  heading?: "h1" | "h2";
}) {
  const { total, matches } = ambiguity;
  const more = total - matches.length;
  return (
    <section className="panel" aria-labelledby="ambiguous-run-h" data-testid="ambiguous-run">
      <Heading id="ambiguous-run-h" style={{ marginTop: 0 }}>
        Run id prefix <span className="mono">{prefix}</span> matches {total} runs
      </Heading>
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
                <Link href={linkTo(m.id)} className="mono">
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
