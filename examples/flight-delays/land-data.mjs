#!/usr/bin/env node
// Simulates data arriving in production: writes the months of flights-3m.parquet (the npm
// package vega-datasets: 3M US flights, January-June 2001) as monthly Parquet partitions into a
// landing folder. Idempotent: a partition already landed is left untouched, so its stat (and
// the pipeline's cache) stays valid.
//
//   node examples/flight-delays/land-data.mjs [--through 6] [--landing DIR] [--corrupt MONTH]
import { DuckDBInstance } from "@duckdb/node-api";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const through = Number(flag("through", "6"));
const landing = resolve(flag("landing", join(here, "landing")));
const corrupt = flag("corrupt", undefined);
if (!Number.isInteger(through) || through < 1 || through > 6) {
  console.error(`--through must be a month between 1 and 6, got ${flag("through")}`);
  process.exit(2);
}

const require = createRequire(import.meta.url);
// The package exports only its JS entry (build/index.js); the data folder sits beside build/.
const source = join(dirname(require.resolve("vega-datasets")), "..", "data", "flights-3m.parquet");
mkdirSync(landing, { recursive: true });
const db = await DuckDBInstance.create(":memory:");
const conn = await db.connect();
let landed = 0;
for (let m = 1; m <= through; m++) {
  const file = join(landing, `flights-2001-${String(m).padStart(2, "0")}.parquet`);
  if (existsSync(file) && String(m) !== corrupt) continue;
  const tmp = `${file}.tmp`;
  // A corrupted batch for the validation example: distance as text, a burst of nulls in delay,
  // and delays shifted by two hours.
  const select =
    String(m) === corrupt
      ? `SELECT date, CASE WHEN hash(date, origin, destination, ` +
        `distance) % 10 < 3 THEN NULL ELSE delay + 120 END AS delay, ` +
        `CAST(distance AS VARCHAR) AS distance, origin, destination`
      : `SELECT date, delay, distance, origin, destination`;
  await conn.run(
    `COPY (${select} FROM read_parquet('${source}') WHERE ` +
      `month(date) = ${m} AND year(date) = 2001 ORDER BY date)
    TO '${tmp}' (FORMAT parquet, COMPRESSION zstd)`,
  );
  rmSync(file, { force: true });
  renameSync(tmp, file);
  landed++;
}
console.log(`landing ${landing}: months 1-${through} present (${landed} newly landed)`);
