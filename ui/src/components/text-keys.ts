/**
 * React keys for lists of plain values: each item's text, numbered when it repeats. They stay with
 * the item when the list grows or is re-read, which an index does not.
 */
export function keyedByText<T>(items: readonly T[], text: (item: T) => string): Array<{ key: string; item: T }> {
  const seen = new Map<string, number>();
  return items.map((item) => {
    const base = text(item);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return { key: n ? `${base}#${n}` : base, item };
  });
}
