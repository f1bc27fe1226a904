/**
 * Single-row prediction latency, measured so that a gate on it can run unattended: after a
 * warm-up (JIT, caches, lazy loads), over a fixed number of calls that does not depend on the
 * size of the test set, in rounds whose median p99 shrugs off a few rounds hit by a noisy neighbour.
 * The evaluate step that calls this runs alone (`exclusive`), so the run's other steps are not
 * the neighbour.
 */

export interface LatencyOptions {
  /** Untimed calls first, so the timed ones see a warm model (JIT tiers, caches). @default 1000 */
  warmup?: number;
  /** Timed single-row calls per round; 1000 puts the p99 on the 10 slowest calls. @default 1000 */
  samples?: number;
  /** Rounds, spaced apart; each round's p50 and p99 are computed and the median round is reported. @default 7 */
  rounds?: number;
}

export interface LatencyMeasurement {
  p50Ms: number;
  p99Ms: number;
  /** Timed calls in all rounds. */
  samples: number;
  rounds: number;
  warmup: number;
  /** Distinct rows the calls cycle through. */
  rows: number;
  /** p99 of each round, in order: how much the rounds agreed. */
  roundP99Ms: number[];
}

const ROUND_GAP_MS = 10;

export const LATENCY_DEFAULTS: Required<LatencyOptions> = { warmup: 1000, samples: 1000, rounds: 7 };

/** Times `predictRow` on `rows` (cycled as often as needed); throws when there is no row to time. */
export async function measureLatency(
  predictRow: (row: Record<string, unknown>) => Promise<unknown>,
  rows: readonly Record<string, unknown>[],
  opts: LatencyOptions = {},
): Promise<LatencyMeasurement> {
  const { warmup, samples, rounds } = { ...LATENCY_DEFAULTS, ...definedOnly(opts) };
  if (!rows.length) throw new Error("latency needs at least one row to predict on");
  if (samples < 1 || rounds < 1 || warmup < 0) throw new Error(`invalid latency options ${JSON.stringify(opts)}`);
  let next = 0;
  const row = () => rows[next++ % rows.length];
  for (let i = 0; i < warmup; i++) await predictRow(row());
  const p50s: number[] = [];
  const p99s: number[] = [];
  const times = new Float64Array(samples);
  for (let r = 0; r < rounds; r++) {
    // Spaced apart, so one burst of another process's work lands in one round, not in most of them.
    if (r > 0) await new Promise((done) => setTimeout(done, ROUND_GAP_MS));
    for (let i = 0; i < samples; i++) {
      const input = row();
      const t0 = performance.now();
      await predictRow(input);
      times[i] = performance.now() - t0;
    }
    times.sort();
    p50s.push(quantile(times, 0.5));
    p99s.push(quantile(times, 0.99));
  }
  const [p50Ms, p99Ms] = [median(p50s), median(p99s)];
  return { p50Ms, p99Ms, samples: samples * rounds, rounds, warmup, rows: rows.length, roundP99Ms: p99s };
}

/** The nearest-rank quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
