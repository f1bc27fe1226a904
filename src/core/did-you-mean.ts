/** "Did you mean ...?" for a name that matches nothing: the closest known names by edit distance. */

/** Known names within a small edit distance of `name` (or containing it), closest first. */
export function closestNames(name: string, known: Iterable<string>, max = 3): string[] {
  const lower = name.toLowerCase();
  const scored: Array<{ candidate: string; distance: number }> = [];
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const distance = c.includes(lower) || lower.includes(c) ? 1 : editDistance(lower, c);
    // A third of the name may be wrong: enough for typos, not so much that everything matches.
    if (distance <= Math.max(1, Math.round(name.length / 3))) scored.push({ candidate, distance });
  }
  return scored
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map((s) => s.candidate);
}

/** ` (did you mean "x"?)`, or "" when nothing is close. */
export function didYouMean(name: string, known: Iterable<string>, quote = (s: string) => `"${s}"`): string {
  const close = closestNames(name, known);
  return close.length ? ` (did you mean ${close.map(quote).join(" or ")}?)` : "";
}

/** Levenshtein distance with one row of memory. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitute);
    }
    previous = current;
  }
  return previous[b.length];
}
