/** Status words as coloured badges; colour is never the only signal (the word is always shown). */
export function StatusBadge({ status, title }: { status?: string; title?: string }) {
  const s = (status ?? "none").toLowerCase().replace(/[^a-z]+/g, "-");
  return (
    <span className={`badge s-${s}`} title={title}>
      {status ?? "—"}
    </span>
  );
}

/** The status class of a cell (history grid, DAG node), for shapes too small for a word. */
export function statusClass(status?: string, cached?: boolean): string {
  if (cached) return "s-cached";
  return `s-${(status ?? "none").toLowerCase().replace(/[^a-z]+/g, "-")}`;
}
