import { seededRandom } from "../random.js";

/**
 * Quantile binning ("hist cuts"), as XGBoost's `hist` and LightGBM do it: each feature is cut into at
 * most `maxBin` intervals holding about equal numbers of rows, so split finding scans <= 256 bins
 * instead of sorted values. Like XGBoost, cut values are bin upper bounds and a row goes left when
 * `x < cut`, so a split on bin `t` is the raw-value test `x < cuts[t]`. Features with few distinct
 * values get one bin per value, which keeps small integer codes (hour, weekday) exact.
 *
 * XGBoost builds cuts with a weighted quantile sketch (eps = 1 / (8 * max_bin)) over all rows; we
 * sort a seeded uniform sample instead (exact quantiles of the sample), which gives the same
 * accuracy guarantee with high probability at 200k samples and is deterministic for a seed.
 */
export interface BinnedFeatures {
  rows: number;
  features: number;
  /**
   * Row-major bin codes: `bins[row * rowStride + j]`; row-major so one row's bins share a cache line.
   * Rows of up to 8 features are padded to 4 or 8 bytes so kernels can read a row as 32-bit words.
   */
  bins: Uint8Array;
  rowStride: number;
  /** Per feature: upper bound of each value bin; the last is +Infinity. */
  cuts: Float64Array[];
  /** Per feature: number of value bins (= cuts[j].length). */
  valueBins: Int32Array;
  /** Per feature: the bin code of a missing value, or -1 when the feature had no missing values. */
  missingBin: Int32Array;
}

const SKETCH_SAMPLE = 200_000;

export function computeCuts(column: Float64Array, maxValueBins: number, seed: number): Float64Array {
  const values = sampleNonMissing(column, SKETCH_SAMPLE, seed);
  sortValues(values);
  const n = values.length;
  if (n === 0) return Float64Array.of(Infinity);
  let distinct = 1;
  for (let i = 1; i < n; i++) if (values[i] !== values[i - 1]) distinct++;
  const cuts: number[] = [];
  if (distinct <= maxValueBins) {
    for (let i = 1; i < n; i++) if (values[i] !== values[i - 1]) cuts.push(values[i]);
  } else {
    // Cut before the first distinct value whose rank reaches the next quantile target; heavy ties
    // make bins uneven, which is inherent to quantiles of discrete data.
    let next = 1;
    for (let i = 1; i < n && cuts.length < maxValueBins - 1; i++) {
      if (values[i] === values[i - 1]) continue;
      if (i >= (next * n) / maxValueBins) {
        cuts.push(values[i]);
        while ((next * n) / maxValueBins <= i) next++;
      }
    }
  }
  cuts.push(Infinity);
  return Float64Array.from(cuts);
}

/** Sorts ascending; integer values in a small range by counting (several times faster than sort()). */
function sortValues(values: Float64Array): void {
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    if (v !== Math.floor(v)) integers = false;
  }
  if (values.length === 0) return;
  if (!integers || !(max - min < TABLE_RANGE)) {
    values.sort();
    return;
  }
  const counts = new Int32Array(max - min + 1);
  for (let i = 0; i < values.length; i++) counts[values[i] - min]++;
  for (let k = 0, at = 0; k < counts.length; k++) {
    for (let c = counts[k]; c > 0; c--) values[at++] = min + k;
  }
}

function sampleNonMissing(column: Float64Array, limit: number, seed: number): Float64Array {
  let present = 0;
  for (let i = 0; i < column.length; i++) if (column[i] === column[i]) present++;
  const out = new Float64Array(Math.min(present, limit));
  if (present <= limit) {
    let k = 0;
    for (let i = 0; i < column.length; i++) if (column[i] === column[i]) out[k++] = column[i];
    return out;
  }
  const random = seededRandom(seed);
  let k = 0;
  while (k < out.length) {
    const v = column[random.int(column.length)];
    if (v === v) out[k++] = v;
  }
  return out;
}

/** Number of cuts <= x, i.e. the bin of x (upper_bound over the finite cuts). */
export function binOf(cuts: Float64Array, x: number): number {
  let lo = 0;
  let hi = cuts.length - 1; // the last cut is +Infinity, never <= x
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface BinningOptions {
  maxBin: number;
  seed: number;
  /** Allocates the bin matrix; a SharedArrayBuffer lets histogram workers read it without copies. */
  allocate?: (bytes: number) => ArrayBufferLike;
}

export function binFeatures(columns: Float64Array[], rows: number, options: BinningOptions): BinnedFeatures {
  const f = columns.length;
  const stride = binRowStride(f);
  const buffer = options.allocate ? options.allocate(rows * stride) : new ArrayBuffer(rows * stride);
  const bins = new Uint8Array(buffer, 0, rows * stride);
  const cuts: Float64Array[] = [];
  const valueBins = new Int32Array(f);
  const missingBin = new Int32Array(f);
  for (let j = 0; j < f; j++) {
    const col = columns[j];
    let hasMissing = false;
    for (let i = 0; i < rows; i++)
      if (col[i] !== col[i]) {
        hasMissing = true;
        break;
      }
    // A missing bin costs one value bin so every code still fits in a byte.
    const c = computeCuts(col, hasMissing ? options.maxBin - 1 : options.maxBin, options.seed + j * 7919);
    cuts.push(c);
    valueBins[j] = c.length;
    missingBin[j] = hasMissing ? c.length : -1;
    fillBins(col, rows, c, hasMissing ? c.length : 0, bins, j, stride);
  }
  return { rows, features: f, bins, rowStride: stride, cuts, valueBins, missingBin };
}

/** Bytes per row of the bin matrix: 4 or 8 (whole 32-bit words) for up to 8 features, else one per feature. */
export function binRowStride(features: number): number {
  return features <= 4 ? 4 : features <= 8 ? 8 : features;
}

/** Widest integer range between the first and last finite cut that gets a direct bin table. */
const TABLE_RANGE = 1 << 16;

function fillBins(
  col: Float64Array,
  rows: number,
  cuts: Float64Array,
  missing: number,
  bins: Uint8Array,
  j: number,
  f: number,
): void {
  const last = cuts.length - 1;
  // Integer codes (hours, ids, counts) are the common case: look their bins up in a table built
  // once per feature instead of a binary search per row, whose branches mispredict.
  const from = last > 0 ? Math.floor(cuts[0]) : 0;
  const size = last > 0 ? Math.ceil(cuts[last - 1]) - from + 1 : 0;
  const table = new Uint8Array(size > 0 && size <= TABLE_RANGE ? size : 0);
  for (let k = 0; k < table.length; k++) table[k] = binOf(cuts, from + k);
  for (let i = 0, p = j; i < rows; i++, p += f) {
    const x = col[i];
    if (x !== x) {
      bins[p] = missing;
      continue;
    }
    const k = x - from;
    if (k >= 0 && k < table.length && (k | 0) === k) {
      bins[p] = table[k];
      continue;
    }
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cuts[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    bins[p] = lo;
  }
}
