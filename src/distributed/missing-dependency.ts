/** Recognises a failure caused by something missing on the worker (a Python or Node module, a program). */
import type { ErrorInfo } from "../core/errors.js";

const PATTERNS: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/ModuleNotFoundError: No module named '([^']+)'/, (m) => `the Python module "${m[1]}"`],
  [/ImportError: No module named ([\w.]+)/, (m) => `the Python module "${m[1]}"`],
  [/Cannot find (?:module|package) '([^']+)'/, (m) => `the Node package "${m[1]}"`],
  [/(?:^|\s)([\w.+-]+): (?:command )?not found/, (m) => `the program "${m[1]}"`],
];

/** What is missing, as a phrase ("the Python module \"sklearn\""), or undefined when nothing is. */
export function missingDependency(error: ErrorInfo, recentLines: readonly string[]): string | undefined {
  const texts = [error.message, error.cause?.message ?? "", ...recentLines.slice().reverse()];
  for (const text of texts)
    for (const [pattern, phrase] of PATTERNS) {
      const m = text.match(pattern);
      if (m) return phrase(m);
    }
  return undefined;
}
